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

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.fetch.download import describe, info_time
from app.fetch.errors import FetchError
from app.fetch.zipchecker import serve
from app.gomod import zipcheck
from app.gomod.errors import GoModError
from app.licenses import Verdict, allow_list_from_env, evaluate
from app.licenses.detect import warm_up


def license_verdict(settings: Settings, zip_path: Path, module: str, version: str,
                    names: list[str]) -> Verdict:
    """The gate's verdict on the module-root license files ``names`` of a zip (fail
    closed: no file, or one not recognised, is not redistributable)."""
    return _license_verdict(settings.license_allow, zip_path, module, version, names)


def _license_verdict(allow: str, zip_path: Path, module: str, version: str,
                     names: list[str]) -> Verdict:
    files = {}
    for name in names:
        data = zipcheck.read_file(zip_path, module, version, name,
                                  max_size=zipcheck.MAX_LICENSE_SIZE)
        if data is not None:
            files[name] = data
    return evaluate(files, allow_list_from_env(allow))


@dataclass(frozen=True)
class Servable:
    """A verified zip judged ahead of its capture: whether it may be served now, and
    the identity its answer carries (the same ETag the stored zip gets)."""

    served: bool
    sha256: str = ""
    size: int = 0


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
    return _servable(settings.license_allow, zip_path, module, version, licenses)


def _servable(allow: str, zip_path: Path, module: str, version: str,
              licenses: list[str]) -> Servable:
    """Whether the license gate lets a zip whose rules hold through, and its identity."""
    verdict = _license_verdict(allow, zip_path, module, version, licenses)
    if not verdict.redistributable:
        return Servable(False)
    try:
        with zip_path.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        size = zip_path.stat().st_size
    except OSError:
        return Servable(False)
    return Servable(True, digest, size)


def judge_fetched(request: dict) -> dict:
    """A zip a graph load fetched itself (app/fetch/verified.py), checked and judged in
    the load's zip-checks process (app/fetch/zipchecker.py, run as this module): every
    rule and the ``h1:`` (a broken rule raises), and the verdict :func:`judge_ahead`
    gives, kept beside the load before the zip is in place, so that no web process
    judges it again. ``request``: ``path``, ``module``, ``version``, ``info`` (the
    .info's path) and ``license_allow`` (the setting's value)."""
    module, version, zip_path = request["module"], request["version"], Path(request["path"])
    report = zipcheck.check_zip(zip_path, module, version)
    try:
        info_time(module, version, Path(request["info"]).read_bytes(), datetime.now(UTC))
        servable = _servable(request["license_allow"], zip_path, module, version,
                             report.licenses)
    except (FetchError, OSError):
        servable = Servable(False)
    return {"h1": report.h1, "verdict": asdict(servable)}


if __name__ == "__main__":
    warm_up()  # the classifier's database, while the load still reads the graph
    serve(judge_fetched)
