"""Run the documentation helper on a stored zip: every package of a version, as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.store import ArtifactStore
from app.workdirs import work_folder

# A module's documentation comes in seconds (golang.org/x/tools: 214 packages in 1.1 s);
# a zip that takes longer than this is not documented, and its page says so.
RUN_TIMEOUT = 300.0


class DocsError(Exception):
    """This version cannot be documented (the reason is shown on its pages)."""


@dataclass(frozen=True)
class ModuleDocs:
    """What the helper printed: the build context and one dict per package."""

    goos: str
    goarch: str
    go_version: str
    packages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _zip_file(store: ArtifactStore, module: str, version: str, folder: Path) -> Path:
    """The version's zip as a file the helper can open (copied from object storage)."""
    local = store.local_path(module, version, "zip")
    if local is not None:
        return local
    copy = folder / "module.zip"
    with store.open(module, version, "zip") as stream, copy.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return copy


def produce(store: ArtifactStore, helper: Path, work_dir: Path, module: str, version: str,
            timeout: float = RUN_TIMEOUT) -> ModuleDocs:
    """Document ``module@version`` from its stored zip.

    Raises DocsError for what the helper refuses (a zip it cannot read, too much source)
    or does not finish in time; a store that cannot be read raises its own error (the
    job is tried again)."""
    began = time.monotonic()
    with work_folder(work_dir, "docs-") as folder:
        zip_path = _zip_file(store, module, version, folder)
        try:
            proc = subprocess.run(
                [str(helper), "-zip", str(zip_path), "-module", module, "-version", version],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
                cwd=folder)
        except subprocess.TimeoutExpired as exc:
            raise DocsError(f"documenting took over {timeout:g} s") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().removeprefix("godoc: ")
        raise DocsError(message[:500] or f"the doc helper exited with {proc.returncode}")
    try:
        printed = json.loads(proc.stdout)
    except ValueError as exc:
        raise DocsError(f"the doc helper printed invalid JSON: {exc}") from exc
    return ModuleDocs(goos=printed["goos"], goarch=printed["goarch"],
                      go_version=printed["go_version"], packages=printed["packages"],
                      seconds=time.monotonic() - began)
