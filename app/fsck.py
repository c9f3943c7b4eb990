"""fsck: does the database agree with the artifact store? (`flask --app app fsck`)

The pipeline writes store first, database second, and a crash may fall between
the two. What must still hold afterwards, and what this checks:

- every artifact row of a version whose bytes are kept (processing … published)
  names a stored file of exactly that size and sha256 (errors: ``missing``,
  ``size``, ``sha256``), and a published version has all three of its files
  (``incomplete``);
- each module's ``@v/list``, what the GOPROXY serves without the database,
  names exactly its published tagged versions (``list_missing``, ``list_extra``);
- files no row knows are ``orphan`` notices, not errors: a job killed after
  storing and before recording leaves them, and its retry finds identical bytes;
- temporary files of killed writers (``tmp_leftover``) are notices: they are
  never served under a key. ``repair`` deletes those older than ``tmp_age``
  seconds (a younger one may belong to a running write) and rewrites lists from
  the database (the list is derived data; the database is the record);
- work folders of killed jobs under ``DEPOT_DATA_DIR/work`` (``work_leftover``) are
  notices: a module cache each, never served, found by their free owner lock
  (app/workdirs.py). ``repair`` removes them; a folder a live process on this host
  uses is neither reported nor touched.

Runs on every backend through the :class:`~app.store.ArtifactStore` interface.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from app.gomod import versions as semver
from app.gomod.errors import GoModError
from app.gomod.paths import unescape_path
from app.models import Artifact, GraphMod, Module, ModuleVersion, VersionState
from app.resources import Services
from app.store import ArtifactStore, StoreError, artifact_key
from app.store.base import CHUNK, list_key
from app.workdirs import leftovers as work_leftovers

# States in which a version's bytes are in the store (see app/pipeline/stages/base.STORED).
KEPT = (VersionState.processing, VersionState.captured, VersionState.staged,
        VersionState.validating, VersionState.blocked, VersionState.published)
# Problems that mean the database and the store disagree (non-zero exit).
ERRORS = ("missing", "size", "sha256", "incomplete", "list_missing", "list_extra")
# Problems worth knowing that serve nothing wrong.
NOTICES = ("orphan", "tmp_leftover", "work_leftover")
LIST_SUFFIX = "/@v/list"


@dataclass(frozen=True)
class Problem:
    kind: str  # one of ERRORS or NOTICES
    key: str  # the store key (or .tmp/<name>, or work/<name> under the data dir)
    detail: str

    @property
    def is_error(self) -> bool:
        return self.kind in ERRORS


@dataclass
class Report:
    """What was checked, what was found, what was repaired."""

    artifacts: int = 0  # artifact rows checked
    hashed_bytes: int = 0  # bytes read back to compare sha256
    lists: int = 0  # module lists compared
    keys: int = 0  # keys the store holds
    leftovers: int = 0  # temporary files seen
    work_folders: int = 0  # work folders of killed jobs seen
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(p.kind for p in self.problems).items()))

    def to_json(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "problems"}
        body.update(ok=self.ok, counts=self.counts(),
                    problems=[asdict(p) | {"error": p.is_error} for p in self.problems])
        return json.dumps(body, indent=2)

    def summary(self, examples: int = 10) -> str:
        """A human summary: counts checked, problems by kind, the first few of each."""
        lines = [f"checked {self.artifacts} artifact rows ({self.hashed_bytes:,} bytes hashed), "
                 f"{self.lists} module lists, {self.keys} store keys, "
                 f"{self.leftovers} temporary files, {self.work_folders} leftover work "
                 "folders"]
        for kind, count in self.counts().items():
            label = "error" if kind in ERRORS else "notice"
            lines.append(f"{label}: {count} {kind}")
            for p in [p for p in self.problems if p.kind == kind][:examples]:
                lines.append(f"  {p.key}: {p.detail}")
            if count > examples:
                lines.append(f"  … and {count - examples} more")
        lines += [f"repaired: {r}" for r in self.repaired]
        verdict = ("database and store agree" if self.ok else
                   f"database and store DISAGREE: {len(self.errors)} error(s)")
        lines.append(verdict)
        return "\n".join(lines)


def _sha256(store: ArtifactStore, key: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with store.open_key(key) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _rows(services: Services) -> list[tuple[str, str, VersionState, str, int, str]]:
    """(path, version, state, kind, size, sha256) of every artifact row and graph go.mod."""
    with services.db.session() as session:
        rows = session.execute(
            select(Module.path, ModuleVersion.version, ModuleVersion.state,
                   Artifact.kind, Artifact.size, Artifact.sha256)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .join(Artifact, Artifact.version_id == ModuleVersion.id)
        ).all()
        graph = session.execute(
            select(GraphMod.module_path, GraphMod.version, GraphMod.size, GraphMod.sha256)
        ).all()
    # A go.mod kept because graph loading reads it is served like a published file.
    return ([(p, v, s, k.value, size, sha) for p, v, s, k, size, sha in rows]
            + [(p, v, VersionState.published, "mod", size, sha) for p, v, size, sha in graph])


def _published(services: Services) -> list[tuple[str, str, bool]]:
    """(path, version, is_pseudo) of every published version."""
    with services.db.session() as session:
        found = session.execute(
            select(Module.path, ModuleVersion.version, ModuleVersion.is_pseudo)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .where(ModuleVersion.state == VersionState.published)
        ).all()
    return [(path, version, bool(pseudo)) for path, version, pseudo in found]


def check(services: Services, *, hash_files: bool = True, repair: bool = False,
          tmp_age: float = 600.0, progress: Callable[[int], None] | None = None) -> Report:
    """Compare the database with the store; with ``repair``, fix what is safe to fix."""
    store, report = services.store, Report()
    try:
        stored = {o.key: o.size for o in store.iter_keys()}
    except StoreError as exc:
        raise StoreError(f"cannot list the store: {exc}") from exc
    report.keys = len(stored)
    known: set[str] = set()
    have: dict[tuple[str, str], set[str]] = {}
    for path, version, state, kind, size, sha256 in _rows(services):
        key = artifact_key(path, version, kind)
        known.add(key)
        have.setdefault((path, version), set()).add(kind)
        if state not in KEPT:
            continue
        report.artifacts += 1
        if progress:
            progress(1)
        if key not in stored:
            report.problems.append(Problem("missing", key, f"{state.value} version, "
                                           f"row says {size} bytes, the store has no file"))
            continue
        if stored[key] != size:
            report.problems.append(Problem("size", key, f"row says {size} bytes, "
                                           f"the store holds {stored[key]}"))
            continue
        if hash_files:
            found, read = _sha256(store, key)
            report.hashed_bytes += read
            if found != sha256:
                report.problems.append(Problem("sha256", key, f"row says sha256 {sha256}, "
                                               f"the stored bytes hash to {found}"))
    tagged: dict[str, set[str]] = {}
    for path, version, pseudo in _published(services):
        if not pseudo:
            tagged.setdefault(path, set()).add(version)
        lacking = {"info", "mod", "zip"} - have.get((path, version), set())
        if lacking:
            report.problems.append(Problem(
                "incomplete", artifact_key(path, version, "zip"),
                f"published without a row for its {', '.join(sorted(lacking))}"))
    _check_lists(services, report, stored, tagged, known, repair)
    for key in sorted(set(stored) - known):
        report.problems.append(Problem("orphan", key, f"{stored[key]} bytes no row knows "
                                       "(stored before a crash; a retry reuses them)"))
    _check_leftovers(store, report, repair, tmp_age)
    _check_work_folders(services, report, repair)
    return report


def _check_lists(services: Services, report: Report, stored: dict[str, int],
                 tagged: dict[str, set[str]], known: set[str], repair: bool) -> None:
    """Each module's @v/list must name exactly its published tagged versions."""
    listed_modules: set[str] = set()
    for key in stored:
        if key.endswith(LIST_SUFFIX):
            try:
                listed_modules.add(unescape_path(key[: -len(LIST_SUFFIX)]))
            except GoModError:
                continue  # not a module's list: stays an orphan
    modules = listed_modules | set(tagged)
    for module in sorted(modules):
        key = list_key(module)
        known.add(key)
        report.lists += 1
        want = tagged.get(module, set())
        have = set(services.store.read_list(module) or [])
        bad = False
        for v in semver.sort_versions(list(want - have)):
            bad = True
            report.problems.append(Problem("list_missing", key, f"published {v} is not listed"))
        for v in sorted(have - want):
            bad = True
            report.problems.append(Problem("list_extra", key, f"lists {v}, which is not a "
                                           "published tagged version"))
        if bad and repair:
            services.store.set_list(module, semver.sort_versions(list(want)))
            report.repaired.append(f"{key} rewritten from the database")


def _check_leftovers(store: ArtifactStore, report: Report, repair: bool, tmp_age: float) -> None:
    """Temporary files of killed writers: reported; removed when old enough."""
    for left in sorted(store.leftovers(), key=lambda x: x.name):
        report.leftovers += 1
        name = f".tmp/{left.name}"
        if repair and left.age >= tmp_age and store.remove_leftover(left.name):
            report.repaired.append(f"{name} removed ({left.size} bytes, {left.age:.0f} s old)")
            continue
        report.problems.append(Problem("tmp_leftover", name, f"{left.size} bytes, "
                                       f"{left.age:.0f} s old, never served"))


def _check_work_folders(services: Services, report: Report, repair: bool) -> None:
    """Work folders of killed jobs: reported; removed with ``repair`` (a folder in use
    holds its owner lock and is not among them)."""
    for left in work_leftovers(services.work_dir, remove=repair):
        report.work_folders += 1
        name = f"work/{left.name}"
        if left.removed:
            report.repaired.append(f"{name} removed ({left.size} bytes, {left.age:.0f} s old)")
            continue
        report.problems.append(Problem("work_leftover", name, f"{left.size} bytes, "
                                       f"{left.age:.0f} s old, left by a killed job"))
