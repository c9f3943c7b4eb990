"""Open requests whose work a killed process never queued are queued again, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.models import Module, ModuleVersion, Request, RequestSource, RequestState, VersionState
from app.pipeline.requests import redrive_stalled, submit
from app.services import Services


class Dispatcher:
    """Records what is queued; ``alive`` is the work whose job exists."""

    def __init__(self, alive: set[tuple[str, ...]] | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.alive = alive or set()

    def enqueue(self, stage: str, *args: str) -> None:
        self.calls.append((stage, *args))

    def has_job(self, stage: str, *args: str) -> bool:
        return (stage, *args) in self.alive


def _request(services: Services, module: str, query: str, age: timedelta,
             version_state: VersionState | None = None) -> int:
    with services.db.session() as session:
        req = Request(module=module, query=query, source=RequestSource.api,
                      created_at=datetime.now(UTC) - age)
        if version_state is not None:
            mod = Module(path=module)
            session.add(mod)
            session.flush()
            row = ModuleVersion(module_id=mod.id, version=query, state=version_state)
            session.add(row)
            session.flush()
            req.version_id, req.state = row.id, RequestState.resolved
        session.add(req)
        session.flush()
        return req.id


def test_stalled_requests_get_their_work_queued_again(services: Services) -> None:
    old = timedelta(minutes=5)
    lost = _request(services, "depot.test/lost", "v1.0.0", old)
    _request(services, "depot.test/pending", "v1.0.0", old, VersionState.pending)
    _request(services, "depot.test/queued", "v1.0.0", old, VersionState.pending)
    _request(services, "depot.test/young", "v1.0.0", timedelta(seconds=1))
    _request(services, "depot.test/working", "v1.0.0", old, VersionState.fetching)
    dispatcher = Dispatcher(alive={("process", "depot.test/queued", "v1.0.0")})

    assert redrive_stalled(services, dispatcher, timedelta(seconds=60)) == 2
    assert dispatcher.calls == [("discover", str(lost)),
                                ("process", "depot.test/pending", "v1.0.0")]


def test_asking_again_for_a_stalled_wish_queues_its_work(services: Services) -> None:
    first = _request(services, "depot.test/chain/c", "v1.0.0", timedelta(0))
    dispatcher = Dispatcher()
    again = submit(services, dispatcher, "depot.test/chain/c", "v1.0.0", RequestSource.api)
    assert (again.request_id, again.created) == (first, False)
    assert dispatcher.calls == [("discover", str(first))]
    dispatcher.alive.add(("discover", str(first)))
    submit(services, dispatcher, "depot.test/chain/c", "v1.0.0", RequestSource.api)
    assert len(dispatcher.calls) == 1  # its job exists now: nothing more
