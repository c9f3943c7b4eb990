"""Check my go.mod: a pasted go.mod (and go.sum) against what Depot holds.

For every requirement and the rest of its build list, whether Depot **serves** it (the
GOPROXY answers its zip), **holds** it without serving it (and why), **lacks** it, or
whether the go.mod **replaces** it (not judged); and for every go.sum line whether its
hash is the one Depot stores (``match``), another one (``mismatch``, said loudly) or
one Depot cannot compare (``unknown``: Depot does not hold that file).

The build list is minimal version selection over the requirements Depot stores
(app/models.Requirement, one row per path of each stored go.mod), as the go command
loads the module graph (cmd/go/internal/modload readModGraph): from a main module at
go 1.17 or later the graph is pruned, so the go.mod of each module it requires is read
but not theirs in turn, unless a module's own go.mod is older than go 1.17 (then its
whole graph is read); ``exclude`` drops a requirement (go 1.16 and later); ``replace``
takes a module's requirements from its replacement. Where Depot lacks a go.mod the
graph needs, the walk says so; it reads at most ``LIMITS.nodes`` go.mod files.

The walk itself is pure (``walk`` takes a batch look-up), tested on dictionaries;
``check`` binds it to the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.graph import replace_line_for
from app.catalog.modules import label
from app.catalog.usage import served_unpublished
from app.gomod import versions
from app.gomod.errors import GoModError, GoModParseError, GoSumParseError
from app.gomod.gosum import SumKind, SumLine, parse_gosum
from app.gomod.modfile import GoModFacts, Replace, Require, one_per_path, parse_gomod
from app.gomod.paths import check_module_path
from app.models import (
    Artifact,
    Drift,
    GraphMod,
    Module,
    ModuleVersion,
    Requirement,
    VersionState,
    is_held,
)

Key = tuple[str, str]  # (module path, version)
Status = Literal["served", "held", "missing", "replaced"]
SumStatus = Literal["match", "mismatch", "unknown"]
STATUSES: tuple[Status, ...] = ("served", "held", "missing", "replaced")
SUM_STATUSES: tuple[SumStatus, ...] = ("match", "mismatch", "unknown")

KiB = 1024


@dataclass(frozen=True)
class Limits:
    """What one check reads at most; the page and the API's errors state them."""

    go_mod_bytes: int = 256 * KiB
    go_sum_bytes: int = 512 * KiB
    requirements: int = 2_000  # require lines of the pasted go.mod
    go_sum_lines: int = 20_000
    nodes: int = 5_000  # go.mod files (module@version) the build-list walk reads
    # A whole request: both texts, escaped, with room to spare; within the 1 MiB the
    # chart's nginx sidecar takes (client_max_body_size).
    body_bytes: int = 1024 * KiB

    def text(self) -> str:
        return (f"go.mod up to {self.go_mod_bytes // KiB} KiB and {self.requirements:,} "
                f"requirements, go.sum up to {self.go_sum_bytes // KiB} KiB and "
                f"{self.go_sum_lines:,} lines; the build list reads up to {self.nodes:,} "
                "go.mod files")


LIMITS = Limits()


class CheckInputError(ValueError):
    """What was pasted cannot be checked; ``status`` is 400 (bad input) or 413 (too much),
    the message says what to change."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Pasted:
    facts: GoModFacts
    sums: list[SumLine]


def _over(what: str, size: int, limit: int, limits: Limits) -> CheckInputError:
    return CheckInputError(f"{what} is {size:,} bytes, over the limit of {limit // KiB} KiB "
                           f"(limits: {limits.text()})", 413)


def _line_of(text: str, *words: str) -> int | None:
    """The first line of ``text`` holding every word (an error names where it is)."""
    for number, line in enumerate(text.splitlines(), 1):
        if all(w in line for w in words):
            return number
    return None


def _check_requirement(text: str, req: Require) -> None:
    try:
        check_module_path(req.path)
        versions.check_path_version(req.path, req.version)
        if not versions.is_canonical(req.version):
            raise GoModError("not a canonical version (such as v1.2.3)")
    except GoModError as exc:
        where = _line_of(text, req.path, req.version)
        at = f"go.mod line {where}" if where else "go.mod"
        raise CheckInputError(f"{at}: require {req.path} {req.version}: {exc}") from None


def read_pasted(go_mod: str, go_sum: str, go_bin: str, limits: Limits = LIMITS) -> Pasted:
    """The pasted go.mod parsed by the go command (app/gomod/modfile) and the go.sum read
    strictly (app/gomod/gosum); CheckInputError naming the line when either is wrong.
    OSError when the go binary cannot run (the server's trouble, not the input's)."""
    go_mod = go_mod.replace("\r\n", "\n")
    go_sum = go_sum.replace("\r\n", "\n")
    try:
        data = go_mod.encode("utf-8")
        sum_size = len(go_sum.encode("utf-8"))
    except UnicodeEncodeError:
        raise CheckInputError("the text is not valid UTF-8 (a lone surrogate)") from None
    if len(data) > limits.go_mod_bytes:
        raise _over("go.mod", len(data), limits.go_mod_bytes, limits)
    if sum_size > limits.go_sum_bytes:
        raise _over("go.sum", sum_size, limits.go_sum_bytes, limits)
    if not go_mod.strip():
        raise CheckInputError("paste a go.mod: the go.mod text is empty")
    sum_lines = sum(1 for line in go_sum.splitlines() if line.strip())
    if sum_lines > limits.go_sum_lines:
        raise CheckInputError(f"go.sum has {sum_lines:,} lines, over the limit of "
                              f"{limits.go_sum_lines:,} (limits: {limits.text()})", 413)
    if "\x00" in go_mod:
        raise CheckInputError("go.mod holds a NUL byte: this is not a go.mod file")
    try:
        facts = parse_gomod(data, go_bin)
    except GoModParseError as exc:
        raise CheckInputError(f"not a valid go.mod: {exc}") from None
    if not facts.module:
        raise CheckInputError("not a go.mod: it has no module line (paste the whole file, "
                              "starting with 'module example.com/yours')")
    if len(facts.requires) > limits.requirements:
        raise CheckInputError(f"go.mod has {len(facts.requires):,} requirements, over the "
                              f"limit of {limits.requirements:,} (limits: {limits.text()})",
                              413)
    for req in facts.requires:
        _check_requirement(go_mod, req)
    try:
        sums = parse_gosum(go_sum)
    except GoSumParseError as exc:
        raise CheckInputError(str(exc)) from None
    return Pasted(facts, sums)


# -- the build list (pure) ----------------------------------------------------------------

_GO_VERSION = re.compile(r"^(\d+)\.(\d+)")


def pruned(go: str | None) -> bool:
    """Whether a go.mod's ``go`` line makes its graph pruned (go 1.17 and later); a go.mod
    without one counts as go 1.16, as the go command counts it."""
    found = _GO_VERSION.match(go or "")
    return found is not None and (int(found[1]), int(found[2])) >= (1, 17)


@dataclass(frozen=True)
class Known:
    """One stored go.mod as the walk reads it."""

    requires: tuple[Key, ...]
    pruned: bool


# Keys -> what Depot knows of each go.mod; a key missing from the answer is unknown.
Lookup = Callable[[Sequence[Key]], Mapping[Key, Known]]

_PRUNED, _UNPRUNED = "pruned", "unpruned"


@dataclass
class Walk:
    """Minimal version selection over the requirements Depot stores."""

    selected: dict[str, str]  # path -> the highest version required anywhere read
    via: dict[str, Key | None]  # path -> whose requirement named it first (None: the go.mod)
    unknown: list[Key] = field(default_factory=list)  # go.mod files needed, Depot lacks
    local: list[Key] = field(default_factory=list)  # replaced by a directory: unseen
    excluded: list[Key] = field(default_factory=list)  # requirements an exclude dropped
    walked: int = 0  # go.mod files read
    truncated: bool = False  # stopped at the node limit


def _source(key: Key, replaces: Sequence[Replace]) -> Key | None:
    """Whose go.mod gives ``key``'s requirements: its replacement's (a module), None for a
    directory (Depot cannot see it), else its own."""
    line = replace_line_for(key[0], key[1], replaces)
    if line is None:
        return key
    return None if line.new_version is None else (line.new_path, line.new_version)


def walk(main: str, roots: Iterable[Require], lookup: Lookup, *, main_pruned: bool,
         excludes: Iterable[Key] = (), replaces: Sequence[Replace] = (),
         max_nodes: int = LIMITS.nodes) -> Walk:
    """The build list of ``main`` whose go.mod requires ``roots``, reading go.mod files
    as the go command does (module docstring); ``lookup`` is asked once per layer."""
    excluded = set(excludes)
    out = Walk(selected={}, via={})
    dropped: set[Key] = set()

    def require(path: str, version: str, by: Key | None) -> bool:
        if path == main:
            return False
        if (path, version) in excluded:
            if (path, version) not in dropped:
                dropped.add((path, version))
                out.excluded.append((path, version))
            return False
        held = out.selected.get(path)
        if held is None or versions.compare(version, held) > 0:
            out.selected[path], out.via[path] = version, by
        return True

    queue = [((r.path, r.version), _PRUNED if main_pruned else _UNPRUNED)
             for r in roots if require(r.path, r.version, None)]
    seen: set[tuple[Key, str]] = set()
    cache: dict[Key, Known | None] = {}
    while queue and not out.truncated:
        batch: list[tuple[Key, str]] = []
        for item in queue:
            if item in seen:
                continue
            if out.walked >= max_nodes:
                out.truncated = True
                break
            seen.add(item)
            out.walked += 1
            batch.append(item)
        sources = {key: _source(key, replaces) for key, _mode in batch}
        wanted = sorted({s for s in sources.values() if s is not None and s not in cache})
        if wanted:
            found = lookup(wanted)
            cache.update({k: found.get(k) for k in wanted})
        queue = []
        for key, mode in batch:
            source = sources[key]
            if source is None:
                if key not in out.local:
                    out.local.append(key)
                continue
            known = cache.get(source)
            if known is None:
                if key not in out.unknown:
                    out.unknown.append(key)
                continue
            # Its requirements count; their own go.mod files are read only below a graph
            # that is not pruned (go's readModGraph), and then all the way down.
            follow = mode == _UNPRUNED or not known.pruned
            for path, version in known.requires:
                if require(path, version, key) and follow:
                    queue.append(((path, version), _UNPRUNED))
    return out


# -- what Depot holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One version row Depot has, as the check needs it."""

    id: int
    state: VersionState
    redistributable: bool | None
    label: str  # the state in a person's words (the module page's)
    reason: str
    go_version: str | None
    hashes: dict[str, str]  # "zip" / "mod" -> the h1: Depot stored


CHUNK = 500


def _chunks(items: Sequence[Key]) -> Iterable[Sequence[Key]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


# The go.mod of a version whose requirements Depot has not recorded, read from the store
# (a graph-only go.mod, or a version a crawl stored but has not processed yet); None when
# the store has none. The caller parses it (the go command).
ModFacts = Callable[[str, str], GoModFacts | None]
# Go.mod files read from the store per check, at most: each costs a go command run.
MAX_MOD_READS = 200


class Holdings:
    """What Depot holds of the versions a check names, read in batches, each once."""

    def __init__(self, session: Session, mod_facts: ModFacts | None = None) -> None:
        self.session = session
        self.rows: dict[Key, Stored | None] = {}
        self.mod_facts = mod_facts
        self.mod_reads = 0

    def stored(self, keys: Iterable[Key]) -> dict[Key, Stored | None]:
        keys = list(keys)
        wanted = sorted(set(keys) - set(self.rows))
        for chunk in _chunks(wanted):
            for key in chunk:
                self.rows[key] = None
            pairs = set(chunk)
            found = self.session.execute(
                select(Module.path, ModuleVersion)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .where(Module.path.in_({p for p, _ in chunk}),
                       ModuleVersion.version.in_({v for _, v in chunk}))
            ).all()
            rows = {(path, row.version): row for path, row in found
                    if (path, row.version) in pairs}
            hashes: dict[int, dict[str, str]] = {}
            if rows:
                for vid, kind, h1 in self.session.execute(
                    select(Artifact.version_id, Artifact.kind, Artifact.h1)
                    .where(Artifact.version_id.in_([r.id for r in rows.values()]))
                ):
                    if h1:
                        hashes.setdefault(vid, {})[kind.value] = h1
            for key, row in rows.items():
                self.rows[key] = Stored(row.id, row.state, row.redistributable, label(row),
                                        row.reason or "", row.go_version,
                                        hashes.get(row.id, {}))
        return {k: self.rows[k] for k in keys}

    def lookup(self, keys: Sequence[Key]) -> dict[Key, Known]:
        """The walk's look-up: the requirements of each version whose go.mod Depot stores."""
        stored = {k: s for k, s in self.stored(keys).items() if s is not None and "mod" in s.hashes}
        requires: dict[int, list[Key]] = {s.id: [] for s in stored.values()}
        ids = list(requires)
        for start in range(0, len(ids), CHUNK):
            for vid, path, version in self.session.execute(
                select(Requirement.version_id, Requirement.path, Requirement.required_version)
                .where(Requirement.version_id.in_(ids[start:start + CHUNK]))
            ):
                requires[vid].append((path, version))
        known = {k: Known(tuple(sorted(requires[s.id])), pruned(s.go_version))
                 for k, s in stored.items()}
        # Served go.mod files with no recorded requirements: a trial's check said "Depot
        # does not hold the go.mod" of testify v1.8.0, which its GOPROXY served.
        for key in keys:
            if key in known or self.mod_facts is None or self.mod_reads >= MAX_MOD_READS:
                continue
            self.mod_reads += 1
            facts = self.mod_facts(*key)
            if facts is not None:
                known[key] = Known(tuple(sorted((r.path, r.version) for r in facts.requires)),
                                   pruned(facts.go))
        return known

    def graph_mod_hashes(self, keys: Iterable[Key]) -> dict[Key, str]:
        """h1 of the go.mod files Depot keeps only for graph loading (app/models.GraphMod)."""
        found: dict[Key, str] = {}
        wanted = sorted(set(keys))
        for chunk in _chunks(wanted):
            pairs = set(chunk)
            for path, version, h1 in self.session.execute(
                select(GraphMod.module_path, GraphMod.version, GraphMod.h1)
                .where(GraphMod.module_path.in_({p for p, _ in chunk}),
                       GraphMod.version.in_({v for _, v in chunk}))
            ):
                if (path, version) in pairs:
                    found[(path, version)] = h1
        return found

    def drifts(self, keys: Iterable[Key]) -> dict[Key, dict[str, str]]:
        """The versions among ``keys`` the drift alarm found differing upstream (app/drift),
        each with the h1 the upstream offered per file kind ("zip", "mod"; empty when gone
        or refused)."""
        found: dict[Key, dict[str, str]] = {}
        wanted = sorted(set(keys))
        for chunk in _chunks(wanted):
            pairs = set(chunk)
            for path, version, kind, h1 in self.session.execute(
                select(Drift.module_path, Drift.version, Drift.kind, Drift.upstream_h1)
                .where(Drift.module_path.in_({p for p, _ in chunk}),
                       Drift.version.in_({v for _, v in chunk}))
            ):
                if (path, version) in pairs:
                    kinds = found.setdefault((path, version), {})
                    if h1:
                        kinds[kind.value] = h1
        return found


# -- judging ------------------------------------------------------------------------------

# What "not in Depot" means for the go command, by DEPOT_ON_MISS.
MISSING = {
    "404": "not in Depot",
    "enqueue": "not in Depot; the go command's first request for it queues it",
    "fetch": "not in Depot yet; the go command's first request for it fetches it",
}
_ON_ITS_WAY = (VersionState.pending, VersionState.fetching)


@dataclass(frozen=True)
class Entry:
    """One module of the build list."""

    path: str
    version: str  # the version selected
    direct: bool  # a require line of the pasted go.mod
    indirect: bool  # that line is marked // indirect
    required: str | None  # the version the go.mod's line asks for (None: from the graph)
    via: Key | None  # the module whose requirement brought it (None: the go.mod)
    status: Status
    reason: str
    requested: bool = False  # Depot has it queued already (missing, on its way)
    requirements_unknown: bool = False  # Depot lacks its go.mod: the graph below is unseen
    replacement: str = ""  # "new/path v1.2.3" or "./dir" when replaced

    @property
    def raised(self) -> bool:
        """The graph selects a higher version than the go.mod's line asks for."""
        return self.required is not None and self.required != self.version


@dataclass(frozen=True)
class SumResult:
    """One go.sum line compared with what Depot stores."""

    path: str
    version: str
    kind: SumKind
    line: int
    hash: str  # the pasted one
    depot_hash: str | None  # None: Depot does not hold that file
    status: SumStatus
    reason: str


@dataclass(frozen=True)
class CheckResult:
    module: str
    go: str | None
    toolchain: str | None
    main_pruned: bool
    entries: list[Entry]
    sums: list[SumResult]
    excluded: list[Key]
    unknown: list[Key]  # go.mod files the graph needs that Depot lacks
    local: list[Key]  # replaced by a directory: requirements unseen
    walked: int
    truncated: bool
    limits: Limits = LIMITS

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {status: 0 for status in STATUSES}
        for entry in self.entries:
            counts[entry.status] += 1
        return counts

    @property
    def sum_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {status: 0 for status in SUM_STATUSES}
        for line in self.sums:
            counts[line.status] += 1
        return counts

    @property
    def mismatches(self) -> list[SumResult]:
        return [s for s in self.sums if s.status == "mismatch"]

    @property
    def to_request(self) -> list[Key]:
        """What the one button requests: every missing version not already on its way."""
        return [(e.path, e.version) for e in self.entries
                if e.status == "missing" and not e.requested]

    @property
    def complete(self) -> bool:
        """Depot saw every go.mod the build list needs."""
        return not (self.unknown or self.local or self.truncated)


def judge(key: Key, stored: Stored | None, served: set[Key], on_miss: str
          ) -> tuple[Status, str, bool]:
    """(status, reason, already requested) of one version, in the words the module page and
    the request status page use."""
    if stored is None:
        return "missing", MISSING.get(on_miss, MISSING["404"]), False
    if stored.state == VersionState.published:
        return "served", "", False
    if key in served:
        return "served", (f"served by exact version while its own validation goes on "
                          f"({stored.label})"), False
    if stored.state in _ON_ITS_WAY:
        return "missing", f"requested, not stored yet ({stored.label})", True
    if not stored.reason or stored.reason == stored.label:
        return "held", stored.label, False
    if is_held(stored.state, stored.redistributable):  # the gate's reason names the license
        return "held", f"held: {stored.reason}", False
    return "held", f"{stored.label}: {stored.reason}", False


def _sum_result(line: SumLine, stored: Stored | None, graph_mod: str | None,
                upstream: Mapping[str, str]) -> SumResult:
    kind = "mod" if line.kind == "go.mod" else "zip"
    depot = (stored.hashes.get(kind) if stored is not None else None) or (
        graph_mod if kind == "mod" else None)
    if depot is None:
        return SumResult(line.path, line.version, line.kind, line.line, line.hash, None,
                         "unknown", "Depot does not hold this file")
    if depot == line.hash:
        return SumResult(line.path, line.version, line.kind, line.line, line.hash, depot,
                         "match", "")
    if upstream.get(kind) == line.hash:
        why = ("your go.sum has the bytes the upstream serves now, which differ from what "
               "Depot captured (the tag moved; see the version's page): the go command "
               "through Depot will refuse this version")
    else:
        why = ("differs from the hash Depot stored when it captured this version: the go "
               "command will refuse it (checksum mismatch); find out which side is wrong "
               "before you trust either")
    return SumResult(line.path, line.version, line.kind, line.line, line.hash, depot,
                     "mismatch", why)


# A note for a served version the drift alarm found differing upstream ("" when a later
# check saw it undone): given by the caller, as the catalogue does not read app/drift.
DriftNote = Callable[[Session, str, str, int], str]


def check(session: Session, pasted: Pasted, *, on_miss: str = "404",
          drift_note: DriftNote | None = None, limits: Limits = LIMITS,
          mod_facts: ModFacts | None = None) -> CheckResult:
    """Judge the pasted go.mod's build list and go.sum lines against Depot."""
    facts = pasted.facts
    roots = one_per_path(facts.requires)
    holdings = Holdings(session, mod_facts)
    main_pruned = pruned(facts.go)
    walked = walk(facts.module, roots, holdings.lookup, main_pruned=main_pruned,
                  excludes=facts.excludes, replaces=facts.replaces, max_nodes=limits.nodes)
    direct = {r.path: r for r in roots}
    keys = list(walked.selected.items())
    replaced = {key: line for key in keys
                if (line := replace_line_for(key[0], key[1], facts.replaces)) is not None}
    judged_keys = [k for k in keys if k not in replaced]
    stored = holdings.stored(judged_keys)
    unpublished = {k for k, s in stored.items()
                   if s is not None and s.state != VersionState.published}
    served = served_unpublished(session, unpublished, on_miss == "fetch")
    drifted = holdings.drifts(judged_keys) if drift_note is not None else {}
    unknown = set(walked.unknown)
    entries = []
    for key in keys:
        path, version = key
        req = direct.get(path)
        entry = Entry(path, version, direct=req is not None,
                      indirect=req is not None and req.indirect,
                      required=req.version if req is not None else None,
                      via=walked.via.get(path), status="missing", reason="",
                      requirements_unknown=key in unknown)
        line = replaced.get(key)
        if line is not None:
            target = line.new_path + (f" {line.new_version}" if line.new_version else "")
            entries.append(replace(entry, status="replaced", replacement=target,
                                   reason=f"replaced by {target} in your go.mod; Depot does "
                                          "not judge replacements"))
            continue
        row = stored[key]
        status, reason, requested = judge(key, row, served, on_miss)
        if status == "served" and row is not None and drift_note and key in drifted:
            note = drift_note(session, path, version, row.id)
            reason = f"{reason}; {note}" if reason and note else (reason or note)
        entries.append(replace(entry, status=status, reason=reason, requested=requested))
    entries.sort(key=lambda e: (not e.direct, e.path))
    sum_keys = {(s.path, s.version) for s in pasted.sums}
    sum_rows = holdings.stored(sum_keys)
    graph_mods = holdings.graph_mod_hashes(sum_keys)
    upstream = holdings.drifts(sum_keys)
    sums = [_sum_result(s, sum_rows[(s.path, s.version)], graph_mods.get((s.path, s.version)),
                        upstream.get((s.path, s.version), {})) for s in pasted.sums]
    return CheckResult(
        module=facts.module, go=facts.go, toolchain=facts.toolchain, main_pruned=main_pruned,
        entries=entries, sums=sums, excluded=walked.excluded, unknown=walked.unknown,
        local=walked.local, walked=walked.walked, truncated=walked.truncated, limits=limits)
