"""The insight score: 0–100 per module, from facts Depot measured itself.

Why a pure function: the score must be explainable and reproducible. Given the
same facts and the same "now" it gives the same number, and each factor carries
the measured value, the points it earned, the points it could earn and one
sentence saying why. Nothing here reads the database (insight_facts.py gathers the
facts) or the clock (the caller passes ``now``). docs/insight.md describes each factor.

Weights (sum 100) and why:

- license clarity, 15: a module nobody may legally redistribute is a liability,
  whatever its code is like; Depot's license gate already measures it.
- validated build, 15: the latest version resolved and built through Depot alone
  in a clean room, with checksums matching; the strongest thing Depot knows.
- used by, 15: other modules choosing it is evidence of trust; log scale, so the
  hundredth user counts less than the first.
- release recency, 15: a release in the last six months says someone still looks
  after it.
- versions, 10: several tagged releases show a module that is versioned on purpose;
  pseudo-versions only means nobody tagged a release.
- dependencies, 10: fewer and shallower requirements mean less to audit and less that
  can break (6 for the count, 4 for the depth).
- go directive, 10: a go.mod that names Go 1.17 or later gets the pruned module graph
  (its users load less); an older one gets half, none at all nothing. A directive kept
  old on purpose, so that older toolchains can build the module, is not punished: how
  recent a release is counts under release recency.
- retractions, 5: the authors withdrew releases (the latest one is worse).
- deprecation, 5: the authors themselves say to use something else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

# When each Go release came out (go.dev/doc/devel/release; the goX.Y.0 tag). A go
# directive names the language version a module was written for; its age says how long
# ago go.mod was brought up to date. Versions older than the table count as the oldest
# entry; newer ones (a release after this table was last extended) as brand new, which
# is right for a year after their release: add each new release here within that year.
GO_RELEASES: dict[tuple[int, int], date] = {
    (1, 11): date(2018, 8, 24),
    (1, 12): date(2019, 2, 25),
    (1, 13): date(2019, 9, 3),
    (1, 14): date(2020, 2, 25),
    (1, 15): date(2020, 8, 11),
    (1, 16): date(2021, 2, 16),
    (1, 17): date(2021, 8, 16),
    (1, 18): date(2022, 3, 15),
    (1, 19): date(2022, 8, 2),
    (1, 20): date(2023, 2, 1),
    (1, 21): date(2023, 8, 8),
    (1, 22): date(2024, 2, 6),
    (1, 23): date(2024, 8, 13),
    (1, 24): date(2025, 2, 11),
    (1, 25): date(2025, 8, 12),
    (1, 26): date(2026, 2, 10),
    (1, 27): date(2026, 8, 18),
}

# Thresholds of the sliding scales (each documented in docs/insight.md).
FRESH_DAYS = 180  # a release this recent earns every recency point
STALE_DAYS = 3 * 365  # one this old earns none
TAGGED_FULL = 15  # tagged releases that earn every version point (log scale below)
USED_BY_FULL = 100  # users that earn every used-by point (log scale below)
DEPS_NONE = 64  # requirements at which the count earns nothing (log scale)
DEPTH_FULL = 1  # graph depth that still earns every depth point; one point less a level
DEPTH_COUNTED = 5  # the depth from which no depth point is left: deeper is not walked
# A go directive naming this Go or later earns every point: from Go 1.17 on, module
# graphs are pruned. An older one (modules from Go 1.11) earns this share.
GO_PRUNED = (1, 17)
GO_OLDER_SHARE = 0.5


@dataclass(frozen=True)
class InsightFacts:
    """What Depot measured about a module's latest published version and its history."""

    path: str
    latest: str | None  # latest published version; None: nothing published
    latest_is_pseudo: bool = False
    spdx_ids: tuple[str, ...] = ()  # recognised licenses of the latest version
    redistributable: bool | None = None  # the license gate's verdict on it
    validated: bool = False  # it passed the clean-room consumer build
    validation_note: str = ""  # what that build noticed without failing
    tagged_count: int = 0  # published tagged versions
    published_count: int = 0  # published versions, pseudo-versions included
    released_at: datetime | None = None  # the latest version's commit time (or publication)
    used_by: int = 0  # modules that require it directly
    dependency_count: int = 0  # requirements in the latest go.mod (indirect included)
    dependency_depth: int = 0  # longest shortest-chain of direct requirements Depot holds
    go_version: str | None = None  # the latest go.mod's go directive
    latest_retracted: bool = False
    retracted_count: int = 0  # published versions the latest go.mod retracts
    deprecated: str | None = None  # the latest go.mod's "Deprecated:" message


@dataclass(frozen=True)
class Factor:
    key: str
    name: str
    value: str  # the measured fact, as a person reads it
    points: float
    max: int
    explanation: str


@dataclass(frozen=True)
class Insight:
    path: str
    version: str | None
    score: int  # 0–100
    factors: list[Factor]
    computed_at: datetime  # the API promises a time: both makers pass their "now"

    @property
    def max(self) -> int:
        return sum(f.max for f in self.factors)


WEIGHTS: dict[str, int] = {
    "license": 15,
    "validated": 15,
    "used_by": 15,
    "recency": 15,
    "versions": 10,
    "dependencies": 10,
    "go_version": 10,
    "retractions": 5,
    "deprecation": 5,
}
NAMES: dict[str, str] = {
    "license": "License clarity",
    "validated": "Validated build",
    "used_by": "Used by",
    "recency": "Release recency",
    "versions": "Versions",
    "dependencies": "Dependencies",
    "go_version": "Go directive",
    "retractions": "Retractions",
    "deprecation": "Deprecation",
}
assert sum(WEIGHTS.values()) == 100


def _points(share: float, weight: int) -> float:
    """``share`` (clamped to 0..1) of ``weight``, to one decimal so sums stay exact enough."""
    return round(max(0.0, min(1.0, share)) * weight, 1)


def _log_share(n: int, full: int) -> float:
    return math.log2(1 + max(0, n)) / math.log2(1 + full)


def _linear_down(x: float, full_until: float, zero_at: float) -> float:
    """1 up to ``full_until``, then falling in a straight line to 0 at ``zero_at``."""
    if x <= full_until:
        return 1.0
    return max(0.0, (zero_at - x) / (zero_at - full_until))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def go_release_date(go_version: str) -> date | None:
    """The release date of the Go version a go directive names (``1.21``, ``1.21.3``,
    ``1.22rc1``); None when it is not a Go version."""
    head = go_version.strip()
    for i, ch in enumerate(head):
        if not (ch.isdigit() or ch == "."):
            head = head[:i]
            break
    parts = head.split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    key = (int(parts[0]), int(parts[1]))
    if key in GO_RELEASES:
        return GO_RELEASES[key]
    oldest, newest = min(GO_RELEASES), max(GO_RELEASES)
    if key < oldest:
        return GO_RELEASES[oldest]
    # Newer than the table: date.max stands for "brand new" (no real release is that late).
    return None if key[0] != newest[0] else date.max


def _license(f: InsightFacts) -> Factor:
    w = WEIGHTS["license"]
    ids = ", ".join(f.spdx_ids)
    if f.spdx_ids and f.redistributable:
        return Factor("license", NAMES["license"], ids, w, w,
                      "A recognised license that Depot may redistribute: what it allows is clear.")
    if f.spdx_ids:
        return Factor("license", NAMES["license"], ids, _points(1 / 3, w), w,
                      "A recognised license, but not one Depot may redistribute.")
    return Factor("license", NAMES["license"], "none recognised", 0, w,
                  "No license file Depot recognises: nobody may safely reuse the code.")


def _validated(f: InsightFacts) -> Factor:
    w = WEIGHTS["validated"]
    if f.validated and not f.validation_note:
        return Factor("validated", NAMES["validated"], "passed", w, w,
                      "The latest version resolved in a clean room through Depot alone: every "
                      "package and command loads, every checksum matches.")
    if f.validated:
        return Factor("validated", NAMES["validated"], "passed with a note", _points(0.5, w), w,
                      "It resolved with matching checksums, but some of its packages do not "
                      "load, against the upstream too (its own defect: see the note).")
    return Factor("validated", NAMES["validated"], "not validated", 0, w,
                  "No version has passed Depot's clean-room build yet.")


def _used_by(f: InsightFacts) -> Factor:
    w = WEIGHTS["used_by"]
    n = f.used_by
    return Factor("used_by", NAMES["used_by"], f"{n} module{'' if n == 1 else 's'}",
                  _points(_log_share(n, USED_BY_FULL), w), w,
                  f"Modules in Depot that require it directly, on a log scale: {USED_BY_FULL} "
                  "or more earn every point, the first users count most.")


def _recency(f: InsightFacts, now: datetime) -> Factor:
    w = WEIGHTS["recency"]
    if f.released_at is None:
        return Factor("recency", NAMES["recency"], "unknown", 0, w,
                      "Depot does not know when the latest version was made.")
    released = _aware(f.released_at)
    days = max(0, (now - released).days)
    share = _linear_down(days, FRESH_DAYS, STALE_DAYS)
    return Factor("recency", NAMES["recency"],
                  f"{days:,} day{'' if days == 1 else 's'} ago "
                  f"({released.astimezone(UTC).date().isoformat()})", _points(share, w), w,
                  f"Time since the latest release: within {FRESH_DAYS} days earns every "
                  f"point, then fewer each day until none at {STALE_DAYS // 365} years.")


def _versions(f: InsightFacts) -> Factor:
    w = WEIGHTS["versions"]
    n = f.tagged_count
    if n == 0:
        value = f"{f.published_count} pseudo-version{'' if f.published_count == 1 else 's'}, " \
                "no tagged release"
        return Factor("versions", NAMES["versions"], value, 0, w,
                      "Only untagged commits are published: nobody has tagged a release.")
    return Factor("versions", NAMES["versions"], f"{n} tagged release{'' if n == 1 else 's'}",
                  _points(_log_share(n, TAGGED_FULL), w), w,
                  f"Published tagged releases, on a log scale: {TAGGED_FULL} or more earn "
                  "every point.")


def _dependencies(f: InsightFacts) -> Factor:
    w = WEIGHTS["dependencies"]
    count_w, depth_w = 6, w - 6
    count_pts = _points(1 - _log_share(f.dependency_count, DEPS_NONE), count_w)
    depth_pts = float(max(0, min(depth_w, depth_w - (f.dependency_depth - DEPTH_FULL))))
    n, d = f.dependency_count, f.dependency_depth
    deeper = " or more" if d >= DEPTH_COUNTED else ""
    return Factor("dependencies", NAMES["dependencies"],
                  f"{n} requirement{'' if n == 1 else 's'}, depth {d}{deeper}",
                  round(count_pts + depth_pts, 1), w,
                  f"Fewer is better: the go.mod's requirements (up to {count_w} points, none "
                  f"at {DEPS_NONE}) and how many levels deep its direct requirements go in "
                  f"Depot's graph (up to {depth_w} points, one less each level beyond "
                  f"{DEPTH_FULL}).")


def _go_version(f: InsightFacts, now: datetime) -> Factor:
    w = WEIGHTS["go_version"]
    if not f.go_version:
        return Factor("go_version", NAMES["go_version"], "no go directive", 0, w,
                      "The go.mod names no Go version, so the go command assumes an old one.")
    released = go_release_date(f.go_version)
    if released is None:
        return Factor("go_version", NAMES["go_version"], f"go {f.go_version}", 0, w,
                      "Not a Go version Depot knows.")
    if released == date.max:
        return Factor("go_version", NAMES["go_version"], f"go {f.go_version} (newer than "
                      "Depot's table)", w, w, "A Go release newer than Depot's table of "
                      "release dates: as recent as it gets.")
    pruned = released >= GO_RELEASES[GO_PRUNED]
    return Factor("go_version", NAMES["go_version"],
                  f"go {f.go_version}, released {released.isoformat()}",
                  w if pruned else _points(GO_OLDER_SHARE, w), w,
                  f"Go {GO_PRUNED[0]}.{GO_PRUNED[1]} or later (a pruned module graph) earns "
                  f"every point, an older Go {GO_OLDER_SHARE:.0%} of them. An old directive "
                  "kept so that older toolchains build the module is not punished.")


def _retractions(f: InsightFacts) -> Factor:
    w = WEIGHTS["retractions"]
    total = max(f.published_count, 1)
    value = f"{f.retracted_count} of {f.published_count} retracted"
    if f.latest_retracted:
        return Factor("retractions", NAMES["retractions"], value + ", the latest too", 0, w,
                      "The authors retracted even the latest version.")
    return Factor("retractions", NAMES["retractions"], value,
                  _points(1 - f.retracted_count / total, w), w,
                  "The share of published versions that the authors retracted, taken off "
                  "the points.")


def _deprecation(f: InsightFacts) -> Factor:
    w = WEIGHTS["deprecation"]
    if f.deprecated is not None:
        return Factor("deprecation", NAMES["deprecation"], "deprecated", 0, w,
                      "The latest go.mod says the module is deprecated: its authors point "
                      "elsewhere.")
    return Factor("deprecation", NAMES["deprecation"], "not deprecated", w, w,
                  "The latest go.mod carries no “Deprecated:” comment.")


def _nothing_published(f: InsightFacts, now: datetime) -> Insight:
    factors = [Factor(key, NAMES[key], "nothing published", 0, WEIGHTS[key],
                      "No version of this module is published, so there is nothing to measure.")
               for key in WEIGHTS]
    return Insight(f.path, None, 0, factors, now)


def score(facts: InsightFacts, now: datetime) -> Insight:
    """The score and its breakdown; the same facts and ``now`` always give the same answer."""
    now = _aware(now)
    if facts.latest is None:
        return _nothing_published(facts, now)
    factors = [
        _license(facts), _validated(facts), _used_by(facts), _recency(facts, now),
        _versions(facts), _dependencies(facts), _go_version(facts, now),
        _retractions(facts), _deprecation(facts),
    ]
    total = sum(f.points for f in factors)
    return Insight(facts.path, facts.latest, max(0, min(100, round(total))), factors, now)
