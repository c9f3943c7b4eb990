"""The home page's "Recently published": what someone asked for is not pushed off by the
members of its own build list, published around it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.catalog.overview import recently_published
from app.models import Module, ModuleVersion, Request, RequestSource, RequestState, VersionState
from app.resources import Services

START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def publish(svc: Services, path: str, minute: int, asked: bool = False) -> None:
    with svc.db.session() as session:
        module = Module(path=path)
        session.add(module)
        session.flush()
        version = ModuleVersion(module_id=module.id, version="v1.0.0",
                                state=VersionState.published,
                                published_at=START + timedelta(minutes=minute))
        session.add(version)
        session.flush()
        if asked:
            session.add(Request(module=path, query="v1.0.0", source=RequestSource.api,
                                state=RequestState.resolved, version_id=version.id,
                                is_open=False))


def paths(svc: Services, limit: int) -> list[str]:
    with svc.db.session() as session:
        return [item.path for item in recently_published(session, limit)]


def test_asked_versions_come_before_the_members_published_after_them(services: Services):
    publish(services, "depot.test/old-asked", 0, asked=True)
    publish(services, "depot.test/cobra", 1, asked=True)
    for n in range(12):  # its build list, validated and published after it
        publish(services, f"depot.test/member{n:02}", 2 + n)
    assert paths(services, 10)[:2] == ["depot.test/cobra", "depot.test/old-asked"]
    assert paths(services, 4) == ["depot.test/cobra", "depot.test/old-asked",
                                  "depot.test/member11", "depot.test/member10"]


def test_without_requests_the_newest_come_first(services: Services):
    for n in range(3):  # a Depot filled by GOPROXY misses alone
        publish(services, f"depot.test/fetched{n}", n)
    assert paths(services, 10) == ["depot.test/fetched2", "depot.test/fetched1",
                                   "depot.test/fetched0"]
