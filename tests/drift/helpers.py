"""Shared by the drift tests: a Depot on a private upstream that the test re-tags or
empties, with its webhooks pointed at a real receiver."""

from __future__ import annotations

from dataclasses import replace

from app.gomod.paths import escape_version
from app.resources import Services
from tests.fixtures.upstream import Upstream, module_dir, module_files, retag

HOOK = "/hooks/drift"
CHANGED = ("depot.test/chain/c", "v1.0.0")  # the upstream force-pushes this tag
DELETED = ("depot.test/retract", "v1.0.0")  # the upstream drops this version
SAME = ("depot.test/legacy", "v1.0.0")  # the upstream leaves this one alone


def on_private_upstream(services: Services, upstream: Upstream, **changes: object) -> Services:
    return replace(services, settings=replace(services.settings, upstream=upstream.url,
                                              **changes))


def force_push(upstream: Upstream, module: str, version: str) -> None:
    retag(upstream.root, module, version,
          module_files(module, version) | {"moved.go": b"package c\n\nconst Moved = 1\n"})


def delete_version(upstream: Upstream, module: str, version: str) -> None:
    vdir = module_dir(upstream.root, module)
    for ext in ("info", "mod", "zip"):
        (vdir / f"{escape_version(version)}.{ext}").unlink()
