"""The license gate's verdict on a zip, and whether a zip a graph load verified may be
served before its capture.

One place for both, so that a zip answered ahead of its capture (app/goproxy/ahead.py)
is judged by the capture's own checks of the same bytes: the .info's time, the
module-zip rules on every name and declared size, and the license gate. A zip any of
them would refuse is never served early; its miss waits for the capture, which
records the refusal and says why.

What the capture checks besides, moments later, the go command that verified the zip
has checked already, so the judgement leaves it to the capture: the content against
the checksum (our hash of every file against the toolchain's), the real sizes (its
unzip stops at a declared size) and the go.mod's parse and module path (its graph
load read that go.mod). Why: those re-read and hashed every byte of every zip and ran
a go command for each go.mod, on the client's cores while it walked (a cold gin
v1.10.0 walk: about a second of CPU of the 30 zips' judgements).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.fetch.download import describe
from app.fetch.errors import FetchError
from app.fetch.info import info_time
from app.gomod import zipcheck
from app.gomod.errors import GoModError
from app.licenses import Verdict
from app.pipeline.zipjudge import Servable, _license_verdict, _servable

__all__ = ["Servable", "judge_ahead", "license_verdict"]


def license_verdict(settings: Settings, zip_path: Path, module: str, version: str,
                    names: list[str]) -> Verdict:
    """The gate's verdict on the module-root license files ``names`` of a zip (fail
    closed: no file, or one not recognised, is not redistributable; a private module
    passes whatever it says when DEPOT_PRIVATE_LICENSE is `exempt`)."""
    return _license_verdict(settings.license_allow, zip_path, module, version, names,
                            settings.license_exempt(module))


def judge_ahead(settings: Settings, entry: dict) -> Servable:
    """Judge a `go mod download -json` entry whose zip a load's go command verified
    (its ``Sum``): servable only when the capture's rules hold and the license gate
    lets it through. An entry without a verified sum gets every check of a capture."""
    module, version, zip_path = entry["Path"], entry["Version"], Path(entry["Zip"])
    try:
        if entry.get("Sum"):
            info_time(module, version, Path(entry["Info"]).read_bytes(), datetime.now(UTC))
            licenses = zipcheck.check_zip(zip_path, module, version, contents=False).licenses
        else:
            licenses = describe(settings, entry).report.licenses
    except (FetchError, GoModError, OSError):
        return Servable(False)
    return _servable(settings.license_allow, zip_path, module, version, licenses,
                     settings.license_exempt(module))
