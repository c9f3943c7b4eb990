"""Offline bundles of a published version's build list (see app/bundle/build.py)."""

from app.bundle.build import (
    Built,
    BundleError,
    build,
    cached,
    estimate,
    export,
    file_name,
    resolve,
)

__all__ = ["BundleError", "Built", "build", "cached", "estimate", "export", "file_name",
           "resolve"]
