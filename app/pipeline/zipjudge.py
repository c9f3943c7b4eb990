"""The verdict on a zip a graph load fetched itself, given by the load's zip-checks
process (app/fetch/zipchecker.py runs this module): every module-zip rule and the
``h1:``, the ``.info`` time and the license gate, as a capture would judge it.

A module of its own, importing only what the checks use: the process starts while a
client walks a graph (a load that reads more than a few go.mods), and starting it with
app/pipeline/gate.py's imports (the HTTP client, the settings, the go command's
helpers) took 0.22 s of CPU on the client's two cores (2026-12-06); the web processes
judge with the same functions (app/pipeline/gate.judge_ahead).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from app.fetch.errors import FetchError
from app.fetch.info import info_time
from app.fetch.zipchecker import serve
from app.gomod import zipcheck
from app.licenses import Verdict, allow_list_from_env, evaluate
from app.licenses.detect import warm_up


def _license_verdict(allow: str, zip_path: Path, module: str, version: str,
                     names: list[str], exempt: bool = False) -> Verdict:
    """``exempt``: a private module the operator exempted (DEPOT_PRIVATE_LICENSE): its
    licenses are still read and shown, but they do not stop it."""
    files = {}
    for name in names:
        data = zipcheck.read_file(zip_path, module, version, name,
                                  max_size=zipcheck.MAX_LICENSE_SIZE)
        if data is not None:
            files[name] = data
    verdict = evaluate(files, allow_list_from_env(allow))
    if exempt and not verdict.redistributable:
        return replace(verdict, redistributable=True, reason="")
    return verdict


@dataclass(frozen=True)
class Servable:
    """A verified zip judged ahead of its capture: whether it may be served now, and
    the identity its answer carries (the same ETag the stored zip gets)."""

    served: bool
    sha256: str = ""
    size: int = 0


def _servable(allow: str, zip_path: Path, module: str, version: str,
              licenses: list[str], exempt: bool = False) -> Servable:
    """Whether the license gate lets a zip whose rules hold through, and its identity."""
    verdict = _license_verdict(allow, zip_path, module, version, licenses, exempt)
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
