"""Open requests whose work a killed process never queued are queued again, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.models import Module, ModuleVersion, Request, RequestSource, RequestState, VersionState
from app.pipeline.requests import redrive_stalled, submit
from app.resources import Services


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


def _version(services: Services, path: str, version: str, state: VersionState,
             age: timedelta = timedelta(0), reason: str = "",
             members: tuple[tuple[str, str], ...] = (), redistributable: bool = True) -> int:
    from app.models import BuildListMember
    from app.pipeline.capture import get_module

    stamp = datetime.now(UTC) - age
    with services.db.session() as session:
        row = ModuleVersion(module_id=get_module(session, path).id, version=version,
                            state=state, reason=reason, redistributable=redistributable,
                            created_at=stamp, updated_at=stamp)
        session.add(row)
        session.flush()
        for member in members:
            session.add(BuildListMember(version_id=row.id, path=member[0],
                                        member_version=member[1]))
        return row.id


def test_a_blocked_version_queues_what_it_lacks_and_ends_when_a_member_gave_up(
    services: Services,
) -> None:
    from app.pipeline.capture import get_version
    from app.pipeline.stages import Pipeline

    dep, top = "depot.test/lacking/dep", "depot.test/lacking/top"
    _version(services, dep, "v1.0.0", VersionState.pending)
    top_id = _version(services, top, "v1.0.0", VersionState.staged,
                      members=((dep, "v1.0.0"),))
    with services.db.session() as session:
        session.add(Request(module=top, query="v1.0.0", source=RequestSource.api,
                            version_id=top_id, state=RequestState.resolved))
    dispatcher = Dispatcher()
    pipeline = Pipeline(services, dispatcher)

    # Nothing queued its member's processing (a lost job): the version queues it itself.
    assert pipeline.validate(top, "v1.0.0").status == "blocked"
    assert ("process", dep, "v1.0.0") in dispatcher.calls

    # The member failed and a retry is due: still waiting.
    with services.db.session() as session:
        row = get_version(session, dep, "v1.0.0")
        row.state, row.reason = VersionState.failed, "upstream: timeout"
    dispatcher.alive.add(("process", dep, "v1.0.0"))
    assert pipeline.validate(top, "v1.0.0").status == "blocked"

    # Its retries ran out: the version ends, with the member's reason, and so does its
    # request (not final for the version: a new request tries again).
    dispatcher.alive.clear()
    done = pipeline.validate(top, "v1.0.0")
    assert done.status == "failed"
    assert done.reason == (f"dependency failed: {dep}@v1.0.0 (upstream: timeout); "
                           "request it again to retry")
    with services.db.session() as session:
        assert get_version(session, top, "v1.0.0").state == VersionState.failed
        assert not session.get(Request, 1).is_open


def test_the_sweep_moves_versions_whose_job_is_gone(services: Services) -> None:
    old, young = timedelta(minutes=5), timedelta(0)
    _version(services, "depot.test/sweep/captured", "v1.0.0", VersionState.captured, old)
    _version(services, "depot.test/sweep/fresh", "v1.0.0", VersionState.captured, young)
    _version(services, "depot.test/sweep/member", "v1.0.0", VersionState.pending, old)
    _version(services, "depot.test/sweep/gaveup", "v1.0.0", VersionState.failed, old)
    _version(services, "depot.test/sweep/top", "v1.0.0", VersionState.blocked, old,
             members=(("depot.test/sweep/gaveup", "v1.0.0"),))
    # Staged by a `complete` job killed on its last attempt before it queued validation.
    _version(services, "depot.test/sweep/staged", "v1.0.0", VersionState.staged, old)
    # The license gate holds this one: staged is where it stays.
    _version(services, "depot.test/sweep/held", "v1.0.0", VersionState.staged, old,
             redistributable=False)
    dispatcher = Dispatcher()

    assert redrive_stalled(services, dispatcher, timedelta(seconds=60)) == 4
    assert sorted(dispatcher.calls) == [
        ("complete", "depot.test/sweep/captured", "v1.0.0"),
        ("process", "depot.test/sweep/member", "v1.0.0"),
        ("validate", "depot.test/sweep/staged", "v1.0.0"),
        ("validate", "depot.test/sweep/top", "v1.0.0"),
    ]

    # While the failed member's retry is due, its dependents wait.
    again = Dispatcher(alive={("process", "depot.test/sweep/gaveup", "v1.0.0"),
                              ("complete", "depot.test/sweep/captured", "v1.0.0"),
                              ("process", "depot.test/sweep/member", "v1.0.0"),
                              ("validate", "depot.test/sweep/staged", "v1.0.0")})
    assert redrive_stalled(services, again, timedelta(seconds=60)) == 0


def test_a_version_a_killed_last_attempt_left_working_is_put_back(services: Services) -> None:
    """A worker killed on a job's last attempt (no retry follows) left its version
    `fetching`, `processing` or `validating` and its request open for good. Older than
    any job may run, with no job of its stage, the version goes back to where its
    stage starts and that stage is queued."""
    from app.models import Artifact, ArtifactKind
    from app.pipeline.capture import get_version

    dead = timedelta(seconds=services.settings.job_timeout + 60)
    _version(services, "depot.test/killed/fetching", "v1.0.0", VersionState.fetching, dead)
    _version(services, "depot.test/killed/uncaptured", "v1.0.0", VersionState.processing,
             dead)
    stored = _version(services, "depot.test/killed/captured", "v1.0.0",
                      VersionState.processing, dead)
    with services.db.session() as session:
        session.add(Artifact(version_id=stored, kind=ArtifactKind.mod, size=1, sha256="0" * 64,
                             h1="h1:x"))
    _version(services, "depot.test/killed/validating", "v1.0.0", VersionState.validating, dead)
    _version(services, "depot.test/killed/running", "v1.0.0", VersionState.validating,
             timedelta(seconds=services.settings.job_timeout - 60))
    _version(services, "depot.test/killed/retrying", "v1.0.0", VersionState.fetching, dead)
    dispatcher = Dispatcher(alive={("process", "depot.test/killed/retrying", "v1.0.0")})

    assert redrive_stalled(services, dispatcher, timedelta(seconds=60)) == 4
    assert sorted(dispatcher.calls) == [
        ("process", "depot.test/killed/captured", "v1.0.0"),
        ("process", "depot.test/killed/fetching", "v1.0.0"),
        ("process", "depot.test/killed/uncaptured", "v1.0.0"),
        ("validate", "depot.test/killed/validating", "v1.0.0"),
    ]
    with services.db.session() as session:
        def state(path: str) -> VersionState:
            return get_version(session, path, "v1.0.0").state

        assert state("depot.test/killed/fetching") == VersionState.pending
        assert state("depot.test/killed/uncaptured") == VersionState.pending
        # Stored, but its license gate may not have run: processed again.
        assert state("depot.test/killed/captured") == VersionState.pending
        assert state("depot.test/killed/validating") == VersionState.staged
        assert state("depot.test/killed/running") == VersionState.validating
        assert state("depot.test/killed/retrying") == VersionState.fetching
    # Put back once: the next sweep finds their jobs queued.
    again = Dispatcher(alive=set(dispatcher.calls) | dispatcher.alive)
    assert redrive_stalled(services, again, timedelta(seconds=60)) == 0
