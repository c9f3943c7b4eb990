"""Facts for the insight score, read from a Depot the real pipeline filled, on SQLite and on
PostgreSQL: each fact as the fixtures made it, known scores and order, and a fixed number
of queries however many modules are asked about."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import event

from app.catalog.insight import score
from app.catalog.insight_facts import dependency_depths, gather_facts, module_insights
from app.models import Module, ModuleVersion, Requirement, VersionState
from app.resources import Services
from tests.fixtures.catalog import CHAIN_C, UNLICENSED, USERS
from tests.fixtures.upstream import DEPRECATION, FIXTURE_TIME, PSEUDO_VERSION

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHAIN_A, CHAIN_B = "depot.test/chain/a", "depot.test/chain/b"


@contextmanager
def counted(svc: Services) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(svc.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", count)


def _naive(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=None) if when and when.tzinfo else when


def test_facts_are_what_the_fixtures_made(catalog_app: Flask):
    svc = catalog_app.extensions["depot"]
    with svc.db.session() as session:
        facts = gather_facts(session, [CHAIN_C, CHAIN_A, "depot.test/retract",
                                       "depot.test/deprecated", "depot.test/pseudo",
                                       UNLICENSED, "depot.test/never-heard-of"])
    c, a = facts[CHAIN_C], facts[CHAIN_A]
    assert (c.latest, c.spdx_ids, c.redistributable, c.validated) == ("v1.0.0", ("MIT",),
                                                                       True, True)
    assert (c.tagged_count, c.published_count, c.used_by) == (1, 1, 25)
    assert (c.dependency_count, c.dependency_depth, c.go_version) == (0, 0, "1.21")
    assert _naive(c.released_at) == FIXTURE_TIME.replace(tzinfo=None)
    # a requires b directly (b requires c) and c indirectly: two lines, two levels deep.
    assert (a.latest, a.tagged_count, a.used_by) == ("v1.1.0", 2, 0)
    assert (a.dependency_count, a.dependency_depth) == (2, 2)
    assert facts["depot.test/retract"].retracted_count == 1
    assert facts["depot.test/retract"].published_count == 3
    assert not facts["depot.test/retract"].latest_retracted
    assert facts["depot.test/deprecated"].deprecated == DEPRECATION
    pseudo = facts["depot.test/pseudo"]
    assert (pseudo.latest, pseudo.latest_is_pseudo, pseudo.tagged_count) == (PSEUDO_VERSION,
                                                                              True, 0)
    assert facts[UNLICENSED].latest is None  # rejected by the license gate: nothing published
    assert facts["depot.test/never-heard-of"].latest is None


def test_known_scores_and_their_order(catalog_app: Flask):
    svc = catalog_app.extensions["depot"]
    with svc.db.session() as session:
        found = module_insights(session, [CHAIN_A, CHAIN_C, "depot.test/deprecated",
                                          UNLICENSED], NOW)
    # chain/c: license 15 + validated 15 + used by 25 (10.6) + released 1064 days ago (0.5)
    # + one release (2.5) + no requirements (10) + go 1.21 (10: a pruned module graph, an
    # old directive not punished) + 5 + 5 = 73.6.
    assert found[CHAIN_C].score == 74
    # chain/a: 15 + 15 + nobody uses it (0) + 0.5 + two releases (4.0) + two requirements,
    # depth 2 (4.4 + 3) + 10 + 5 + 5 = 61.9.
    assert found[CHAIN_A].score == 62
    assert {f.key: f.points for f in found[CHAIN_A].factors}["dependencies"] == 7.4
    # deprecated: chain/c's facts but nobody uses it and it says it is deprecated.
    assert found["depot.test/deprecated"].score == round(73.6 - 10.6 - 5)
    assert found[UNLICENSED].score == 0
    ranked = sorted(found, key=lambda p: -found[p].score)
    assert ranked == [CHAIN_C, CHAIN_A, "depot.test/deprecated", UNLICENSED]  # 74, 62, 58, 0


def test_a_fixed_number_of_queries_however_many_modules(catalog_app: Flask):
    svc = catalog_app.extensions["depot"]
    used_by = svc.aggregates.used_by()
    with svc.db.session() as session, counted(svc) as few:
        gather_facts(session, [CHAIN_A, CHAIN_C], used_by)
    with svc.db.session() as session, counted(svc) as many:
        facts = gather_facts(session, [CHAIN_A, CHAIN_C, CHAIN_B, *USERS], used_by)
    assert len(facts) == 26 and all(f.latest for f in facts.values())
    assert all(facts[u].dependency_depth == 1 for u in USERS)
    # Versions, retractions, licenses, requirement counts, one per graph level (a → b → c,
    # then c's level finds nothing).
    assert len(many) <= len(few) <= 8, many  # 26 modules cost no more than 2


def _publish(session, path: str, requires: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    module = Module(path=path)
    session.add(module)
    session.flush()
    version = ModuleVersion(module_id=module.id, version="v1.0.0", state=VersionState.published,
                            published_at=NOW)
    session.add(version)
    session.flush()
    for dep, at in requires.items():
        session.add(Requirement(version_id=version.id, path=dep, required_version=at,
                                indirect=False))


def test_depth_ends_on_a_cycle_and_skips_versions_depot_lacks(services: Services):
    with services.db.session() as session:
        _publish(session, "depot.test/x", {"depot.test/y": "v1.0.0"})
        _publish(session, "depot.test/y", {"depot.test/x": "v1.0.0", "depot.test/z": "v9.9.9"})
        _publish(session, "depot.test/z", {})
    with services.db.session() as session:
        depths = dependency_depths(session, [("depot.test/x", "v1.0.0"),
                                             ("depot.test/z", "v1.0.0")])
        facts = gather_facts(session, ["depot.test/x", "depot.test/y", "depot.test/z"])
    # x → y → (x again: seen; z@v9.9.9: not in Depot, a leaf) = 2 levels.
    assert depths == {("depot.test/x", "v1.0.0"): 2, ("depot.test/z", "v1.0.0"): 0}
    # y → x, z@v9.9.9; x → y, seen already: 1 level.
    assert facts["depot.test/y"].dependency_depth == 1 and facts["depot.test/y"].used_by == 1
    assert facts["depot.test/z"].used_by == 1  # used by is counted by path, any version
    assert score(facts["depot.test/x"], NOW).score > 0
