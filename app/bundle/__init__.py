"""Offline bundles of a published version's build list (see app/bundle/bundler.py)."""

from app.bundle.bundler import (
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
