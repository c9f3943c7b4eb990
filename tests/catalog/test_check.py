"""Check my go.mod: the build-list walk on plain dictionaries, the pasted texts' checks
(the real go command parses the go.mod), and the judgement on a Depot filled by the
real pipeline (tests/fixtures/catalog.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from flask import Flask
from sqlalchemy import select

from app.catalog.check import (
    LIMITS,
    CheckInputError,
    CheckResult,
    Key,
    Known,
    Limits,
    check,
    pruned,
    read_pasted,
    walk,
)
from app.gomod.modfile import GoModFacts, Replace, Require
from app.ingest import ingest
from app.models import (
    Artifact,
    ArtifactKind,
    Drift,
    DriftKind,
    Module,
    ModuleVersion,
    VersionState,
)
from app.resources import Services
from app.services.check import check_gomod, stored_mod_facts
from tests.fixtures.catalog import REJECTED, REJECTED_REASON, UNLICENSED, WIDGETS

# -- the walk -----------------------------------------------------------------------------


def lookup_of(graph: Mapping[Key, tuple[str, list[Key]]]):  # type: ignore[no-untyped-def]
    """A look-up over {key: (go version, requirements)}; it records what it was asked."""
    asked: list[list[Key]] = []

    def lookup(keys: Sequence[Key]) -> dict[Key, Known]:
        asked.append(list(keys))
        return {k: Known(tuple(graph[k][1]), pruned(graph[k][0])) for k in keys if k in graph}

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


A1, B1, C1, C2, D1 = (("a", "v1.0.0"), ("b", "v1.0.0"), ("c", "v1.0.0"), ("c", "v1.2.0"),
                      ("d", "v1.0.0"))


def reqs(*keys: Key) -> list[Require]:
    return [Require(p, v) for p, v in keys]


def test_unpruned_the_highest_version_required_anywhere_is_selected():
    graph = {A1: ("1.16", [B1]), B1: ("1.16", [C2]), C1: ("1.16", []), C2: ("1.16", [D1]),
             D1: ("1.16", [])}
    found = walk("main", reqs(A1, C1), lookup_of(graph), main_pruned=False)
    assert found.selected == {"a": "v1.0.0", "b": "v1.0.0", "c": "v1.2.0", "d": "v1.0.0"}
    assert found.via == {"a": None, "b": A1, "c": B1, "d": C2}
    assert (found.unknown, found.truncated, found.walked) == ([], False, 5)


def test_pruned_the_go_mod_of_a_pruned_dependency_s_requirements_is_not_read():
    graph = {A1: ("1.21", [B1]), B1: ("1.21", [C2]), C2: ("1.21", [])}
    lookup = lookup_of(graph)
    found = walk("main", reqs(A1), lookup, main_pruned=True)
    assert found.selected == {"a": "v1.0.0", "b": "v1.0.0"}  # b's own requirements unread
    assert lookup.asked == [[A1]]
    # The same graph from a main module at go 1.16: everything.
    assert walk("main", reqs(A1), lookup_of(graph), main_pruned=False).selected == {
        "a": "v1.0.0", "b": "v1.0.0", "c": "v1.2.0"}


def test_pruned_an_old_dependency_brings_its_whole_graph():
    graph = {A1: ("1.16", [B1]), B1: ("1.21", [C2]), C2: ("1.21", [D1]), D1: ("1.21", [])}
    found = walk("main", reqs(A1), lookup_of(graph), main_pruned=True)
    assert found.selected == {"a": "v1.0.0", "b": "v1.0.0", "c": "v1.2.0", "d": "v1.0.0"}


def test_exclude_drops_a_requirement_and_says_so():
    graph = {A1: ("1.16", [C2]), C1: ("1.16", [])}
    found = walk("main", reqs(A1, C1), lookup_of(graph), main_pruned=False, excludes=[C2])
    assert found.selected == {"a": "v1.0.0", "c": "v1.0.0"}
    assert found.excluded == [C2]


def test_replacements_a_directory_is_unseen_a_module_gives_its_requirements():
    graph = {("fork", "v1.5.0"): ("1.16", [D1]), D1: ("1.16", [])}
    replaces = [Replace("a", None, "../a", None), Replace("b", "v1.0.0", "fork", "v1.5.0")]
    found = walk("main", reqs(A1, B1), lookup_of(graph), main_pruned=False, replaces=replaces)
    assert found.selected == {"a": "v1.0.0", "b": "v1.0.0", "d": "v1.0.0"}
    assert found.local == [A1] and found.unknown == []


def test_a_go_mod_depot_lacks_is_named_and_the_walk_goes_on():
    graph = {A1: ("1.16", [B1])}
    found = walk("main", reqs(A1, C1), lookup_of(graph), main_pruned=False)
    assert found.selected == {"a": "v1.0.0", "b": "v1.0.0", "c": "v1.0.0"}
    assert sorted(found.unknown) == [B1, C1]


def test_cycles_end_and_the_main_module_is_never_selected():
    graph = {A1: ("1.16", [B1, ("main", "v0.1.0")]), B1: ("1.16", [A1])}
    found = walk("main", reqs(A1), lookup_of(graph), main_pruned=False)
    assert found.selected == {"a": "v1.0.0", "b": "v1.0.0"} and found.walked == 2


def test_the_walk_stops_at_its_node_limit():
    chain = {(f"m{i}", "v1.0.0"): ("1.16", [(f"m{i + 1}", "v1.0.0")]) for i in range(50)}
    found = walk("main", reqs(("m0", "v1.0.0")), lookup_of(chain), main_pruned=False,
                 max_nodes=10)
    assert found.truncated and found.walked == 10


@pytest.mark.parametrize("go, expected", [
    (None, False), ("1.16", False), ("1.17", True), ("1.21.3", True), ("1.22rc1", True),
    ("2.0", True), ("junk", False)])
def test_pruned_from_go_1_17(go: str | None, expected: bool):
    assert pruned(go) is expected


# -- the pasted texts ----------------------------------------------------------------------

FULL = """// A comment
module example.com/app

go 1.21.3

toolchain go1.22.1

require (
\tdepot.test/chain/a v1.1.0
\tgolang.org/x/text v0.3.0 // indirect
)

require "example.com/quoted" v0.1.0

replace example.com/b v1.0.0 => ../b

exclude example.com/e v1.0.0

retract [v1.0.0, v1.0.5] // Published too early.
"""
ZIP = "h1:gVGCZXhl/Fy30JjkLzz4ngtyCdRWuQU2H7zf0ou89JI="


def test_a_whole_go_mod_and_go_sum_are_read(go_bin: str):
    pasted = read_pasted(FULL.replace("\n", "\r\n"),
                         f"depot.test/chain/c v1.0.0 {ZIP}\n", go_bin)
    facts = pasted.facts
    assert (facts.module, facts.go, facts.toolchain) == ("example.com/app", "1.21.3",
                                                         "go1.22.1")
    assert [r.path for r in facts.requires] == ["depot.test/chain/a", "golang.org/x/text",
                                                "example.com/quoted"]
    assert facts.excludes == [("example.com/e", "v1.0.0")]
    assert [(s.path, s.kind, s.line) for s in pasted.sums] == [
        ("depot.test/chain/c", "zip", 1)]


@pytest.mark.parametrize("go_mod, go_sum, message", [
    ("", "", "the go.mod text is empty"),
    ("   \n", "", "the go.mod text is empty"),
    ("hello, world\n", "", "not a valid go.mod: go.mod:1: unknown directive: hello"),
    ("module example.com/x\n\nrequire (\n\texample.com/y master\n)\n", "",
     'go.mod:4:2: require example.com/y: version "master" invalid'),
    ("go 1.21\nrequire example.com/y v1.0.0\n", "", "no module line"),
    ("module example.com/x\nrequire example.com/y v2.0.0\n", "", "should be v0 or v1"),
    ("module example.com/x\x00\n", "", "NUL"),
    ("module example.com/x\n", "example.com/y v1.0.0\n", "go.sum line 1: expected"),
    ("module example.com/x\n", f"\nexample.com/y v1.0.0 {ZIP}\nexample.com/y v1 x\n",
     "go.sum line 3: "),
    ("module example.com/\udc80x\n", "", "not valid UTF-8"),
])
def test_bad_input_is_a_400_naming_the_line(go_bin: str, go_mod: str, go_sum: str,
                                            message: str):
    with pytest.raises(CheckInputError) as exc:
        read_pasted(go_mod, go_sum, go_bin)
    assert exc.value.status == 400
    assert message in str(exc.value)


def test_a_short_version_is_read_as_the_go_command_reads_it(go_bin: str):
    pasted = read_pasted("module example.com/x\n\nrequire example.com/y v1.2\n", "", go_bin)
    assert pasted.facts.requires == [Require("example.com/y", "v1.2.0")]


def test_over_a_limit_is_a_413_stating_the_limits(go_bin: str):
    small = Limits(go_mod_bytes=100, go_sum_bytes=200, requirements=2, go_sum_lines=2)
    cases = [
        ("module example.com/x\n" + "// padding\n" * 20, "", "go.mod is 241 bytes"),
        ("module example.com/x\n", f"example.com/y v1.0.0 {ZIP}\n" * 3, "go.sum is"),
        ("module example.com/x\n", f"example.com/y v1.0.0 {ZIP}\n\n" * 2 + "x\n",
         "go.sum has 3 lines"),
        ("module example.com/x\nrequire (\n a.example/a v1.0.0\n b.example/b v1.0.0\n"
         " c.example/c v1.0.0\n)\n", "", "go.mod has 3 requirements"),
    ]
    for go_mod, go_sum, message in cases:
        with pytest.raises(CheckInputError) as exc:
            read_pasted(go_mod, go_sum, go_bin, small)
        assert exc.value.status == 413 and message in str(exc.value)
        assert "limits: go.mod up to 0 KiB" in str(exc.value)
    assert "go.mod up to 256 KiB and 2,000 requirements, go.sum up to 512 KiB" in LIMITS.text()


# -- against a filled Depot ----------------------------------------------------------------

NOT_HERE = "depot.test/nothere"
GO_MOD = f"""module example.com/app

go 1.21

require (
\tdepot.test/chain/a v1.1.0
\t{WIDGETS} v1.2.0
\t{UNLICENSED} v1.0.0 // indirect
\t{REJECTED} v1.0.0
\t{NOT_HERE} v1.0.0
\tdepot.test/replaced v1.0.0
\tdepot.test/forked v1.0.0
)

replace depot.test/replaced => ../replaced

replace depot.test/forked => depot.test/chain/b v1.0.0

exclude depot.test/chain/c v0.9.0
"""
WRONG = "h1:" + "A" * 43 + "="


def hashes(app: Flask, path: str, version: str) -> dict[str, str]:
    with app.extensions["depot"].db.session() as session:
        rows = session.execute(
            select(Artifact.kind, Artifact.h1).join(ModuleVersion).join(Module)
            .where(Module.path == path, ModuleVersion.version == version)).all()
    return {kind.value: h1 for kind, h1 in rows if h1}


def checked(app: Flask, go_mod: str, go_sum: str = "", on_miss: str = "404") -> CheckResult:
    svc = app.extensions["depot"]
    pasted = read_pasted(go_mod, go_sum, svc.settings.go_bin)
    with svc.db.session() as session:
        return check(session, pasted, on_miss=on_miss)


def test_each_module_is_served_held_missing_or_replaced(catalog_app: Flask):
    result = checked(catalog_app, GO_MOD)
    found = {e.path: e for e in result.entries}
    assert [e.path for e in result.entries if e.direct] == sorted(
        ["depot.test/chain/a", WIDGETS, UNLICENSED, REJECTED, NOT_HERE, "depot.test/replaced",
         "depot.test/forked"])
    assert {p: e.status for p, e in found.items()} == {
        "depot.test/chain/a": "served", WIDGETS: "served", UNLICENSED: "held",
        REJECTED: "held", NOT_HERE: "missing", "depot.test/replaced": "replaced",
        "depot.test/forked": "replaced", "depot.test/chain/b": "served",
        "depot.test/chain/c": "served"}
    assert found[REJECTED].reason == f"rejected: {REJECTED_REASON}"
    assert found[UNLICENSED].reason.startswith("held: license not redistributable")
    assert found[UNLICENSED].indirect and found[UNLICENSED].direct
    assert found[NOT_HERE].reason == "not in Depot" and found[NOT_HERE].requirements_unknown
    assert found["depot.test/replaced"].replacement == "../replaced"
    assert found["depot.test/forked"].replacement == "depot.test/chain/b v1.0.0"
    # From the graph: chain/a's requirements (a pruned module: chain/b's are not read).
    chain_b = found["depot.test/chain/b"]
    assert not chain_b.direct and chain_b.via == ("depot.test/chain/a", "v1.1.0")
    assert result.counts == {"served": 4, "held": 2, "missing": 1, "replaced": 2}
    assert result.to_request == [(NOT_HERE, "v1.0.0")]
    assert set(result.unknown) == {(REJECTED, "v1.0.0"), (NOT_HERE, "v1.0.0")}
    assert result.local == [("depot.test/replaced", "v1.0.0")] and not result.complete
    assert result.excluded == []


def test_a_go_mod_the_store_holds_without_recorded_requirements_is_read(catalog_app: Flask):
    """A trial's check said "Depot does not hold the go.mod" of testify v1.8.0, which
    Depot's GOPROXY served (a graph-only go.mod, or a version a crawl stored but had not
    processed): such a go.mod is read from the store and the walk goes through it."""
    svc = catalog_app.extensions["depot"]
    read = stored_mod_facts(svc)
    facts = read("depot.test/chain/a", "v1.1.0")
    assert facts is not None and facts.module == "depot.test/chain/a"
    assert read(NOT_HERE, "v1.0.0") is None  # the store has no such file

    asked: list[tuple[str, str]] = []

    def mod_facts(path: str, version: str) -> GoModFacts | None:
        asked.append((path, version))
        if (path, version) != (NOT_HERE, "v1.0.0"):
            return None
        return GoModFacts(module=NOT_HERE, go="1.21",
                          requires=[Require("depot.test/chain/c", "v1.0.0", indirect=False)])

    pasted = read_pasted(f"module example.com/app\n\ngo 1.21\n\nrequire {NOT_HERE} v1.0.0\n",
                         "", svc.settings.go_bin)
    with svc.db.session() as session:
        result = check(session, pasted, mod_facts=mod_facts)
    found = {e.path: e for e in result.entries}
    assert (NOT_HERE, "v1.0.0") in asked and result.unknown == []
    assert found["depot.test/chain/c"].via == (NOT_HERE, "v1.0.0")
    assert found[NOT_HERE].status == "missing"  # its go.mod is known; it is not served


def test_what_a_miss_would_do_is_said_by_the_miss_mode(catalog_app: Flask):
    go_mod = f"module example.com/app\n\ngo 1.21\n\nrequire {NOT_HERE} v1.0.0\n"
    reasons = {mode: checked(catalog_app, go_mod, on_miss=mode).entries[0].reason
               for mode in ("404", "enqueue", "fetch")}
    assert reasons["404"] == "not in Depot"
    assert "queues it" in reasons["enqueue"] and "fetches it" in reasons["fetch"]


def test_go_sum_lines_match_mismatch_loudly_or_are_unknown(catalog_app: Flask):
    c = hashes(catalog_app, "depot.test/chain/c", "v1.0.0")
    b = hashes(catalog_app, "depot.test/chain/b", "v1.0.0")
    go_sum = "\n".join([
        f"depot.test/chain/c v1.0.0 {c['zip']}",
        f"depot.test/chain/c v1.0.0/go.mod {c['mod']}",
        f"depot.test/chain/b v1.0.0 {b['zip']}",
        f"depot.test/chain/b v1.0.0/go.mod {WRONG}",
        f"{NOT_HERE} v1.0.0 {WRONG}",
        f"{NOT_HERE} v1.0.0/go.mod {WRONG}",
    ])
    result = checked(catalog_app, "module example.com/app\n", go_sum)
    assert [(s.path, s.kind, s.status) for s in result.sums] == [
        ("depot.test/chain/c", "zip", "match"), ("depot.test/chain/c", "go.mod", "match"),
        ("depot.test/chain/b", "zip", "match"), ("depot.test/chain/b", "go.mod", "mismatch"),
        (NOT_HERE, "zip", "unknown"), (NOT_HERE, "go.mod", "unknown")]
    bad = result.mismatches
    assert len(bad) == 1 and bad[0].line == 4 and bad[0].depot_hash == b["mod"]
    assert bad[0].hash == WRONG and "checksum mismatch" in bad[0].reason
    assert result.sum_counts == {"match": 3, "mismatch": 1, "unknown": 2}
    assert result.entries == []


def test_a_mismatch_that_is_the_upstream_s_new_bytes_says_so(services: Services):
    """A drift finding (the upstream re-tagged after Depot captured it) explains a go.sum
    written from the upstream's new bytes."""
    assert ingest(services, "depot.test/chain/c", "v1.0.0").ok
    with services.db.session() as session:
        stored = session.scalar(
            select(Artifact.h1).join(ModuleVersion).join(Module)
            .where(Module.path == "depot.test/chain/c", Artifact.kind == ArtifactKind.zip))
        session.add(Drift(module_path="depot.test/chain/c", version="v1.0.0",
                          kind=DriftKind.zip, stored_sha256="a" * 64,
                          upstream_sha256="b" * 64, stored_h1=stored, upstream_h1=WRONG))
    pasted = read_pasted("module example.com/app\n", f"depot.test/chain/c v1.0.0 {WRONG}\n",
                         services.settings.go_bin)
    with services.db.session() as session:
        result = check(session, pasted)
    assert result.sums[0].status == "mismatch" and result.sums[0].depot_hash == stored
    assert "the upstream serves now" in result.sums[0].reason


def test_an_artifact_kind_is_compared_with_its_own_hash(catalog_app: Flask):
    """A zip line never matches the go.mod's hash, nor the other way round."""
    c = hashes(catalog_app, "depot.test/chain/c", "v1.0.0")
    go_sum = (f"depot.test/chain/c v1.0.0 {c['mod']}\n"
              f"depot.test/chain/c v1.0.0/go.mod {c['zip']}\n")
    result = checked(catalog_app, "module example.com/app\n", go_sum)
    assert [s.status for s in result.sums] == ["mismatch", "mismatch"]
    assert {ArtifactKind.zip.value, ArtifactKind.mod.value} == set(c)


def test_unpublished_versions_are_judged_by_what_the_goproxy_does(services: Services):
    """Captured but not published: served only when Depot fetches on a miss (the module
    page's "served on miss"); queued: missing, already requested (the button skips it)."""
    with services.db.session() as session:
        for path, state in (("depot.test/captured", VersionState.captured),
                            ("depot.test/queued", VersionState.pending),
                            ("depot.test/broken", VersionState.validation_failed)):
            module = Module(path=path, downloads=0)
            session.add(module)
            session.flush()
            session.add(ModuleVersion(module_id=module.id, version="v1.0.0", state=state,
                                      redistributable=True, reason="go vet said no"
                                      if state == VersionState.validation_failed else ""))
    go_mod = ("module example.com/app\n\ngo 1.21\n\nrequire (\n"
              "\tdepot.test/captured v1.0.0\n\tdepot.test/queued v1.0.0\n"
              "\tdepot.test/broken v1.0.0\n)\n")
    pasted = read_pasted(go_mod, "", services.settings.go_bin)
    judged = {}
    for mode in ("404", "fetch"):
        with services.db.session() as session:
            judged[mode] = {e.path: e for e in check(session, pasted, on_miss=mode).entries}
    assert judged["404"]["depot.test/captured"].status == "held"
    assert judged["fetch"]["depot.test/captured"].status == "served"
    assert "validation goes on" in judged["fetch"]["depot.test/captured"].reason
    queued = judged["404"]["depot.test/queued"]
    assert (queued.status, queued.requested, queued.reason) == (
        "missing", True, "requested, not stored yet (queued)")
    assert judged["404"]["depot.test/broken"].reason == "failed validation: go vet said no"
    with services.db.session() as session:
        assert check(session, pasted).to_request == []


def test_a_served_version_the_upstream_changed_says_so(services: Services):
    assert ingest(services, "depot.test/chain/c", "v1.0.0").ok
    go_mod = "module example.com/app\n\ngo 1.21\n\nrequire depot.test/chain/c v1.0.0\n"
    assert check_gomod(services, go_mod).entries[0].reason == ""
    with services.db.session() as session:
        session.add(Drift(module_path="depot.test/chain/c", version="v1.0.0",
                          kind=DriftKind.gone, stored_sha256="a" * 64, upstream_sha256=""))
    entry = check_gomod(services, go_mod).entries[0]
    assert entry.status == "served"
    assert entry.reason == "the upstream no longer has it; Depot keeps serving what it captured"
