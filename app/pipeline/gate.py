"""The license gate's verdict on a zip, and whether a zip a graph load verified may be
served before its capture.

One place for both, so that a zip answered ahead of its capture (app/goproxy/ahead.py)
is judged by the very checks the capture applies to the same bytes moments later: the
module-zip rules, the go.mod's parse and path, the toolchain's hash against ours, and
the license gate. A zip any of them would refuse is never served early; its miss waits
for the capture, which records the refusal and says why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.fetch.download import describe
from app.fetch.errors import FetchError
from app.gomod import zipcheck
from app.licenses import Verdict, allow_list_from_env, evaluate


def license_verdict(settings: Settings, zip_path: Path, module: str, version: str,
                    names: list[str]) -> Verdict:
    """The gate's verdict on the module-root license files ``names`` of a zip (fail
    closed: no file, or one not recognised, is not redistributable)."""
    files = {}
    for name in names:
        data = zipcheck.read_file(zip_path, module, version, name,
                                  max_size=zipcheck.MAX_LICENSE_SIZE)
        if data is not None:
            files[name] = data
    return evaluate(files, allow_list_from_env(settings.license_allow))


@dataclass(frozen=True)
class Servable:
    """A verified zip judged ahead of its capture: whether it may be served now, and
    the identity its answer carries (the same ETag the stored zip gets)."""

    served: bool
    sha256: str = ""
    size: int = 0


def judge_ahead(settings: Settings, entry: dict) -> Servable:
    """Judge a `go mod download -json` entry whose zip a load verified: servable only
    when its capture would store it and the license gate let it through."""
    module, version, zip_path = entry["Path"], entry["Version"], Path(entry["Zip"])
    try:
        fetched = describe(settings, entry)
    except (FetchError, OSError):
        return Servable(False)
    verdict = license_verdict(settings, zip_path, module, version, fetched.report.licenses)
    if not verdict.redistributable:
        return Servable(False)
    try:
        with zip_path.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        size = zip_path.stat().st_size
    except OSError:
        return Servable(False)
    return Servable(True, digest, size)
