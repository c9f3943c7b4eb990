"""Compare one published version with what its upstream serves now.

The upstream's files are downloaded by the pinned toolchain into a throw-away
folder (as the processor does, with checksum verification as configured) and
hashed there; Depot's own bytes are described by its artifact rows. Nothing is
written to the store: Depot keeps serving what it captured, whatever is found.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from app.fetch import upstream
from app.fetch.download import Failed, Fetched, download
from app.fetch.errors import ChecksumMismatch, FetchError, TransientFetchError, UpstreamNotFound
from app.gomod import h1
from app.gomod.errors import GoModError
from app.gomod.modfile import MAX_GOMOD_SIZE
from app.gomod.zipcheck import MAX_ZIP_SIZE
from app.models import DriftOutcome
from app.workdirs import work_folder

KINDS = ("info", "mod", "zip")


@dataclass(frozen=True)
class Stored:
    """Fingerprints of one file: sha256, the go.sum ``h1:`` (.mod, .zip) and, for .info,
    its facts (Version and Time), which are what a client sees of it."""

    sha256: str
    h1: str = ""
    facts: str = ""


def info_facts(data: bytes) -> str:
    """``Version Time`` of a .info file ("" when unreadable).

    The go command writes .info itself (another toolchain release may add fields such
    as Origin), so its bytes can change with no change upstream: .info counts as
    changed only when these facts do.
    """
    try:
        doc = json.loads(data)
        return f"{doc['Version']} {doc.get('Time', '')}" if isinstance(doc, dict) else ""
    except (ValueError, KeyError, TypeError):
        return ""


@dataclass(frozen=True)
class FileDrift:
    """One file the upstream now serves differently (upstream_sha256 "" when unknown)."""

    kind: str
    stored_sha256: str
    upstream_sha256: str
    stored_h1: str = ""
    upstream_h1: str = ""


@dataclass
class CheckResult:
    module: str
    version: str
    outcome: DriftOutcome
    detail: str = ""
    files: list[FileDrift] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return self.outcome in (DriftOutcome.differs, DriftOutcome.gone)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def compare(stored: dict[str, Stored], offered: dict[str, Stored]) -> list[FileDrift]:
    """Files whose upstream sha256 differs from Depot's (pure: unit-tested on its own).

    A file missing on one side is not compared: .info may be absent from an old
    capture, and a file the upstream could not be asked for is not evidence.
    """
    out = []
    for kind in KINDS:
        mine, theirs = stored.get(kind), offered.get(kind)
        if mine is None or theirs is None or mine.sha256 == theirs.sha256:
            continue
        if mine.facts and mine.facts == theirs.facts:
            continue  # the same .info facts in other bytes (see info_facts)
        out.append(FileDrift(kind, mine.sha256, theirs.sha256, mine.h1, theirs.h1))
    return out


def _describe_files(files: list[FileDrift]) -> str:
    return "; ".join(
        f".{f.kind}: Depot {f.stored_sha256[:12]}…, upstream "
        f"{(f.upstream_sha256[:12] + '…') if f.upstream_sha256 else 'refused'}"
        for f in files
    )


def _fetched_hashes(f: Fetched) -> dict[str, Stored]:
    return {
        "info": Stored(sha256_file(f.info_path), facts=info_facts(f.info_path.read_bytes())),
        "mod": Stored(sha256_file(f.mod_path), f.mod_h1),
        "zip": Stored(sha256_file(f.zip_path), f.zip_h1),
    }


def _direct_hashes(settings: Settings, workdir: Path, module: str, version: str
                   ) -> dict[str, Stored]:
    """The upstream's .mod and .zip read as plain proxy files (capped), for when the go
    command refused them: they are byte for byte what a proxy serves, so they can be
    compared; .info is not (the go command rewrites it)."""
    out: dict[str, Stored] = {}
    for kind, limit in (("mod", MAX_GOMOD_SIZE), ("zip", MAX_ZIP_SIZE)):
        dest = workdir / f"direct.{kind}"
        try:
            if not upstream.fetch_file(settings, module, version, kind, dest, limit):
                continue
            digest = sha256_file(dest)
            if kind == "zip":
                out[kind] = Stored(digest, h1.hash_zip(dest))
            else:
                out[kind] = Stored(digest, h1.hash_gomod(dest.read_bytes()))
        except (OSError, GoModError, ValueError):
            continue
    return out


def _refused(settings: Settings, workdir: Path, module: str, version: str,
             stored: dict[str, Stored], error: FetchError) -> CheckResult:
    """The go command would not take the upstream's bytes: find out which changed."""
    files = compare(stored, _direct_hashes(settings, workdir, module, version))
    if files:
        return CheckResult(module, version, DriftOutcome.differs,
                           f"{_describe_files(files)} ({error.reason})", files)
    if isinstance(error, ChecksumMismatch):
        # The checksum database vouches for Depot's bytes and refuses the upstream's,
        # which could not be read directly: still a changed upstream.
        zip_row = stored.get("zip", Stored(""))
        files = [FileDrift("zip", zip_row.sha256, "", zip_row.h1, "")]
        return CheckResult(module, version, DriftOutcome.differs, error.reason, files)
    return CheckResult(module, version, DriftOutcome.error,
                       f"the upstream's files are unusable: {error.reason}")


def check_version(settings: Settings, work_root: Path, module: str, version: str,
                  stored: dict[str, Stored]) -> CheckResult:
    """Download ``module@version`` again into a private folder and compare.

    ``gone``: the upstream says 404/410 (a deleted repository or tag); ``error``:
    it could not be asked (timeouts, 5xx), which says nothing about drift.
    """
    with work_folder(work_root, "drift-") as workdir:
        got = download(settings, workdir, module, version, shared=False)
        if isinstance(got, Failed):
            error = got.error
            if isinstance(error, UpstreamNotFound):
                return CheckResult(module, version, DriftOutcome.gone,
                                   f"the upstream no longer has it: {error.reason}")
            if isinstance(error, TransientFetchError):
                return CheckResult(module, version, DriftOutcome.error, error.reason)
            return _refused(settings, workdir, module, version, stored, error)
        files = compare(stored, _fetched_hashes(got))
        if files:
            return CheckResult(module, version, DriftOutcome.differs, _describe_files(files),
                               files)
        return CheckResult(module, version, DriftOutcome.same,
                           "the upstream serves the bytes Depot captured")
