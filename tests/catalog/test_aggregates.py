"""The catalogue's aggregates follow publications, asking the database at most once per
refresh interval (a fake clock stands in for time)."""

from __future__ import annotations

from app.catalog.aggregates import Aggregates
from app.models import Module, ModuleVersion, Requirement, VersionState
from app.resources import Services


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def publish(svc: Services, path: str, requires: tuple[str, ...] = ()) -> None:
    with svc.db.session() as session:
        module = Module(path=path)
        session.add(module)
        session.flush()
        version = ModuleVersion(module_id=module.id, version="v1.0.0",
                                state=VersionState.published)
        session.add(version)
        session.flush()
        for dep in requires:
            session.add(Requirement(version_id=version.id, path=dep, required_version="v1.0.0",
                                    indirect=False))


def test_used_by_counts_follow_a_publication_after_the_refresh_interval(services: Services):
    clock = Clock()
    aggregates = Aggregates(services.db, refresh=5.0, clock=clock)
    publish(services, "depot.test/lib")
    assert aggregates.used_by() == {}
    publish(services, "depot.test/app", requires=("depot.test/lib",))
    clock.now += 4.9
    assert aggregates.used_by() == {}  # within the interval: the mark is not asked again
    clock.now += 0.2
    assert aggregates.used_by() == {"depot.test/lib": 1}


def test_a_zero_interval_asks_on_every_use(services: Services):
    aggregates = Aggregates(services.db, refresh=0.0, clock=Clock())
    first = aggregates.mark()
    publish(services, "depot.test/lib")
    assert aggregates.mark() != first


def test_a_withdrawal_moves_the_mark(services: Services):
    aggregates = Aggregates(services.db)
    publish(services, "depot.test/lib")
    before = aggregates.mark()
    with services.db.session() as session:
        session.query(ModuleVersion).update({"state": VersionState.validation_failed})
    assert aggregates.mark() != before
