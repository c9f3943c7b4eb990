"""Work in the order users feel it (issue 18, item 3): validation before fetching more,
what someone asked for before the crawl of a big build list, and a job waiting in the
crawl is moved ahead when someone asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import update

from app.config import Settings
from app.models import Module, ModuleVersion, Request, RequestSource, VersionState
from app.pipeline.buildlist import BuildList
from app.pipeline.capture import get_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.requests import Submitted, status, submit
from app.pipeline.stages import SMALL_BUILD_LIST, Pipeline, some_of
from app.queue import ASKED, CRAWL, MEMBERS, QUEUES, RQDispatcher, connect, job_id
from app.resources import Services
from tests.conftest import services_on
from tests.fixtures.upstream import fixture_module, upstream_of


def _lengths(dispatcher: RQDispatcher) -> dict[str, int]:
    return {name: Queue(name, connection=dispatcher.connection).count for name in QUEUES}


def test_workers_take_validation_first_and_the_crawl_last() -> None:
    order = list(QUEUES)
    assert order.index("discovery") < order.index(ASKED) < order.index("validate")
    assert order.index("validate") < order.index("process")
    assert order.index("process") < order.index(MEMBERS) < order.index(CRAWL)
    # Search and webhooks must not wait for a crawl (cobra was missing from search for
    # the whole 988 s of goreleaser's crawl when index came after crawl).
    assert order.index("index") < order.index(CRAWL) and order.index("notify") < order.index(CRAWL)


def _staged(services: Services, path: str, version: str) -> None:
    with services.db.session() as session:
        mod = Module(path=path)
        session.add(mod)
        session.flush()
        session.add(ModuleVersion(module_id=mod.id, version=version,
                                  state=VersionState.processing))


def test_a_big_build_list_is_crawled_behind_small_ones(services: Services,
                                                       queued_settings: Settings) -> None:
    dispatcher = RQDispatcher(queued_settings, connect(queued_settings))
    pipeline = Pipeline(services, dispatcher)
    _staged(services, "depot.test/small", "v1.0.0")
    _staged(services, "depot.test/big", "v1.0.0")

    small = [(f"depot.test/dep/s{i}", "v1.0.0") for i in range(3)]
    pipeline._record_build_list("depot.test/small", "v1.0.0", BuildList(small))
    assert _lengths(dispatcher)["process"] == 3 and _lengths(dispatcher)[CRAWL] == 0

    big = [(f"depot.test/dep/b{i}", "v1.0.0") for i in range(SMALL_BUILD_LIST + 1)]
    pipeline._record_build_list("depot.test/big", "v1.0.0", BuildList(big))
    assert _lengths(dispatcher)["process"] == 3
    assert _lengths(dispatcher)[CRAWL] == SMALL_BUILD_LIST + 1

    # What a crawl job causes stays in the crawl (the lane a worker reads off its job).
    crawling = dispatcher.in_lane(True)
    crawling.enqueue("validate", "depot.test/dep/b0", "v1.0.0")
    assert _lengths(dispatcher)["validate"] == 0
    assert _lengths(dispatcher)[CRAWL] == SMALL_BUILD_LIST + 2
    assert crawling.has_job("validate", "depot.test/dep/b0", "v1.0.0")


def test_a_waiting_request_s_big_build_list_is_stored_before_anybody_s_crawl(
    services: Services, queued_settings: Settings
) -> None:
    """70 big requests open at once: 40 were still blocked on their own members after 70
    minutes, because those members waited in one crawl queue behind the members of
    members (and their validations) of every other tree. The members of a big build list
    someone waits for go to ``members``, taken before the crawl; a tree nobody waits for
    (a seed list, a member's own) is crawled as before."""
    dispatcher = RQDispatcher(queued_settings, connect(queued_settings))
    pipeline = Pipeline(services, dispatcher)
    for name in ("asked", "seeded"):
        _staged(services, f"depot.test/{name}", "v1.0.0")
    submit(services, InlineDispatcher(services), "depot.test/asked", "v1.0.0",
           RequestSource.api)
    with services.db.session() as session:  # discovery linked the request to its row
        session.execute(update(Request).values(
            version_id=get_version(session, "depot.test/asked", "v1.0.0").id))
    dispatcher.in_lane(True).enqueue("process", "depot.test/deeper", "v1.0.0")  # earlier

    big = [(f"depot.test/dep/a{i}", "v1.0.0") for i in range(SMALL_BUILD_LIST + 1)]
    pipeline._record_build_list("depot.test/asked", "v1.0.0", BuildList(big))
    assert _lengths(dispatcher)[MEMBERS] == SMALL_BUILD_LIST + 1
    assert _lengths(dispatcher)[CRAWL] == 1
    seeded = [(f"depot.test/dep/s{i}", "v1.0.0") for i in range(SMALL_BUILD_LIST + 1)]
    pipeline._record_build_list("depot.test/seeded", "v1.0.0", BuildList(seeded))
    assert _lengths(dispatcher)[MEMBERS] == SMALL_BUILD_LIST + 1
    assert _lengths(dispatcher)[CRAWL] == SMALL_BUILD_LIST + 2

    # A job waiting in the crawl that such a request needs moves up to ``members``...
    dispatcher.for_members().enqueue("process", "depot.test/deeper", "v1.0.0")
    deeper = job_id("process", ("depot.test/deeper", "v1.0.0"))
    assert Queue(MEMBERS, connection=dispatcher.connection).job_ids[-1] == deeper
    assert Job.fetch(deeper, connection=dispatcher.connection).origin == MEMBERS
    # ...and on to ``process`` when a small request needs it; never back down.
    dispatcher.enqueue("process", "depot.test/deeper", "v1.0.0")
    assert Queue("process", connection=dispatcher.connection).job_ids == [deeper]
    dispatcher.for_members().enqueue("process", "depot.test/deeper", "v1.0.0")
    assert Queue("process", connection=dispatcher.connection).job_ids == [deeper]
    assert dispatcher.has_job("process", "depot.test/dep/a0", "v1.0.0")
    assert dispatcher.hurry("process", "depot.test/dep/a0", "v1.0.0")
    assert _lengths(dispatcher)[MEMBERS] == SMALL_BUILD_LIST


def test_asking_for_crawled_work_moves_it_ahead(queued_settings: Settings) -> None:
    connection = connect(queued_settings)
    urgent = RQDispatcher(queued_settings, connection)
    urgent.in_lane(True).enqueue("process", "depot.test/shared", "v1.0.0")
    urgent.in_lane(True).enqueue("process", "depot.test/other", "v1.0.0")
    jid = job_id("process", ("depot.test/shared", "v1.0.0"))
    assert Job.fetch(jid, connection=connection).origin == CRAWL

    urgent.enqueue("process", "depot.test/shared", "v1.0.0")  # a small request needs it too
    assert _lengths(urgent)["process"] == 1 and _lengths(urgent)[CRAWL] == 1
    assert Queue("process", connection=connection).job_ids == [jid]
    assert Job.fetch(jid, connection=connection).origin == "process"
    assert urgent.has_job("process", "depot.test/shared", "v1.0.0")

    urgent.withdraw("process", "depot.test/other", "v1.0.0")  # found in either lane
    assert _lengths(urgent)[CRAWL] == 0


class HoldingBack(InlineDispatcher):
    """The in-process queue, keeping back the processing of some modules (a crawl
    that reaches them later)."""

    def __init__(self, services: Services, later: set[str]) -> None:
        super().__init__(services)
        self.later = later
        self.kept: list[tuple[str, ...]] = []

    def enqueue(self, stage: str, *args: str) -> None:
        if stage == "process" and args[0] in self.later:
            self.kept.append((stage, *args))
            return
        super().enqueue(stage, *args)


def _asked_with_dep_held_back(services: Services, tmp_path: Path, dep: str, top: str
                              ) -> tuple[Services, HoldingBack, Pipeline, Submitted]:
    """``top`` (which requires ``dep``) asked for through the API, its tree run in
    process with ``dep``'s processing kept back."""
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        fixture_module(dep, "v1.0.0"), fixture_module(top, "v1.0.0", {dep: "v1.0.0"})]))
    dispatcher = HoldingBack(services, later={dep})
    pipeline = Pipeline(services, dispatcher)
    done = submit(services, dispatcher, top, "v1.0.0", RequestSource.api)
    dispatcher.drain(pipeline)
    return services, dispatcher, pipeline, done


def test_a_blocked_version_is_published_when_its_dependency_arrives(
    services: Services, tmp_path: Path
) -> None:
    dep, top = "depot.test/later/dep", "depot.test/later/top"
    services, dispatcher, pipeline, done = _asked_with_dep_held_back(services, tmp_path,
                                                                     dep, top)
    with services.db.session() as session:
        row = get_version(session, top, "v1.0.0")
        assert row.state == VersionState.blocked
        assert row.reason == f"blocked: needs {dep}@v1.0.0"
    assert status(services, done.request_id)["state"] == "validating"

    dispatcher.later.clear()  # the crawl reaches it
    for work in dispatcher.kept:
        dispatcher.enqueue(*work)
    dispatcher.drain(pipeline)
    with services.db.session() as session:
        assert get_version(session, top, "v1.0.0").state == VersionState.published
        assert get_version(session, dep, "v1.0.0").state == VersionState.published
    assert status(services, done.request_id)["state"] == "published"


class Counting(HoldingBack):
    """Counts the validations queued per version."""

    def __init__(self, services: Services, later: set[str]) -> None:
        super().__init__(services, later)
        self.validations: dict[str, int] = {}

    def enqueue(self, stage: str, *args: str) -> None:
        if stage == "validate":
            self.validations[args[0]] = self.validations.get(args[0], 0) + 1
        super().enqueue(stage, *args)


def test_a_blocked_version_is_validated_again_only_when_nothing_is_left_to_wait_for(
    services: Services, tmp_path: Path
) -> None:
    """Not once per arriving member: with three members arriving one after the other,
    the top is validated once on request (blocked) and once when the last arrives."""
    deps = [f"depot.test/many/d{i}" for i in range(3)]
    top = "depot.test/many/top"
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        *(fixture_module(dep, "v1.0.0") for dep in deps),
        fixture_module(top, "v1.0.0", dict.fromkeys(deps, "v1.0.0"))]))
    dispatcher = Counting(services, later=set(deps))
    pipeline = Pipeline(services, dispatcher)
    submit(services, dispatcher, top, "v1.0.0", RequestSource.api)
    dispatcher.drain(pipeline)
    assert dispatcher.validations[top] == 1
    held = list(dispatcher.kept)
    dispatcher.later.clear()
    for i, work in enumerate(held):  # one member at a time
        dispatcher.enqueue(*work)
        dispatcher.drain(pipeline)
        with services.db.session() as session:
            state = get_version(session, top, "v1.0.0").state
        if i < len(held) - 1:
            assert state == VersionState.blocked
    assert dispatcher.validations[top] == 2
    with services.db.session() as session:
        assert get_version(session, top, "v1.0.0").state == VersionState.published


def test_a_refused_member_ends_its_blocked_dependent(services: Services, tmp_path: Path
                                                     ) -> None:
    """The last member refused (not redistributable is held, not refused; a zip that
    breaks the rules is): the dependent hears of it at once, not at the next sweep."""
    dep, top = "depot.test/refused/dep", "depot.test/refused/top"
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        fixture_module(dep, "v1.0.0"), fixture_module(top, "v1.0.0", {dep: "v1.0.0"})]))
    dispatcher = HoldingBack(services, later={dep})
    pipeline = Pipeline(services, dispatcher)
    submit(services, dispatcher, top, "v1.0.0", RequestSource.api)
    dispatcher.drain(pipeline)
    pipeline._finish(dep, "v1.0.0", VersionState.rejected, "zip rules: hostile")
    dispatcher.drain(pipeline)
    with services.db.session() as session:
        row = get_version(session, top, "v1.0.0")
        assert row.state == VersionState.validation_failed
        assert f"dependency refused: {dep}@v1.0.0 (zip rules: hostile)" in row.reason


def test_hurried_work_goes_to_the_asked_queue_once(queued_settings: Settings) -> None:
    connection = connect(queued_settings)
    urgent = RQDispatcher(queued_settings, connection)
    for name in ("a", "b", "c"):
        urgent.enqueue("process", f"depot.test/q/{name}", "v1.0.0")
    urgent.in_lane(True).enqueue("process", "depot.test/q/crawled", "v1.0.0")
    ids = {name: job_id("process", (f"depot.test/q/{name}", "v1.0.0"))
           for name in ("a", "b", "c", "crawled")}
    process = Queue("process", connection=connection)
    asked = Queue(ASKED, connection=connection)

    assert urgent.hurry("process", "depot.test/q/c", "v1.0.0")
    assert process.job_ids == [ids["a"], ids["b"]] and asked.job_ids == [ids["c"]]
    assert urgent.hurry("process", "depot.test/q/crawled", "v1.0.0")
    assert asked.job_ids == [ids["c"], ids["crawled"]]  # first asked, first served
    assert _lengths(urgent)[CRAWL] == 0
    assert Job.fetch(ids["crawled"], connection=connection).origin == ASKED
    assert urgent.hurry("process", "depot.test/q/crawled", "v1.0.0")  # there already
    assert asked.job_ids == [ids["c"], ids["crawled"]] and len(process.job_ids) == 2
    assert urgent.has_job("process", "depot.test/q/crawled", "v1.0.0")
    assert not urgent.hurry("process", "depot.test/q/none", "v1.0.0")
    urgent.withdraw("process", "depot.test/q/c", "v1.0.0")
    assert asked.job_ids == [ids["crawled"]]


def test_asked_work_is_taken_before_every_other_stage(services: Services,
                                                      queued_settings: Settings) -> None:
    """Three corpus requests stayed ``queued`` for 11 to 28 minutes: their process jobs
    were at the front of ``process``, but workers take ``validate`` first and it held
    hundreds of other trees' jobs. A real worker on every queue takes the asked job
    first."""
    from rq import SimpleWorker

    connection = connect(queued_settings)
    dispatcher = RQDispatcher(queued_settings, connection)
    for i in range(3):
        dispatcher.enqueue("validate", f"depot.test/others/v{i}", "v1.0.0")
    dispatcher.enqueue("process", "depot.test/mine", "v1.0.0")
    assert dispatcher.hurry("process", "depot.test/mine", "v1.0.0")
    worker = SimpleWorker([Queue(name, connection=connection) for name in QUEUES],
                          connection=connection)
    job, queue = worker.dequeue_job_and_maintain_ttl(timeout=None)
    assert job.id == job_id("process", ("depot.test/mine", "v1.0.0"))
    assert queue.name == ASKED


def test_a_waiting_request_lacking_few_members_gets_them_first(
    services: Services, queued_settings: Settings, tmp_path: Path
) -> None:
    """testify@v1.9.0 lacked one module and waited behind 700 jobs of other requests'
    trees: a blocked version someone asked for has its few missing members hurried."""
    dep, top = "depot.test/hurry/dep", "depot.test/hurry/top"
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        fixture_module(dep, "v1.0.0"), fixture_module(top, "v1.0.0", {dep: "v1.0.0"})]))
    dispatcher = RQDispatcher(queued_settings, connect(queued_settings))
    pipeline = Pipeline(services, dispatcher)
    for i in range(5):  # other people's work, queued first
        dispatcher.enqueue("process", f"depot.test/others/m{i}", "v1.0.0")
    submit(services, InlineDispatcher(services), top, "v1.0.0", RequestSource.api)
    pipeline.process(top, "v1.0.0")  # records the build list, queues dep behind the others
    process = Queue("process", connection=dispatcher.connection)
    wanted = job_id("process", (dep, "v1.0.0"))
    assert process.job_ids[-1] == wanted
    asked = Queue(ASKED, connection=dispatcher.connection)
    # Someone waits for top: its validation is asked work already.
    assert asked.job_ids == [job_id("validate", (top, "v1.0.0"))]
    assert pipeline.validate(top, "v1.0.0").status == "blocked"
    assert asked.job_ids[-1] == wanted and wanted not in process.job_ids


def test_asking_for_a_version_already_on_its_way_moves_its_work_ahead(
    services: Services, queued_settings: Settings, tmp_path: Path
) -> None:
    """A version queued or blocked as someone else's member, then asked for: its own job,
    or the jobs of the few members it lacks, go to the front."""
    dep, top = "depot.test/asked/dep", "depot.test/asked/top"
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        fixture_module(dep, "v1.0.0"), fixture_module(top, "v1.0.0", {dep: "v1.0.0"})]))
    dispatcher = RQDispatcher(queued_settings, connect(queued_settings))
    pipeline = Pipeline(services, dispatcher)
    process = Queue("process", connection=dispatcher.connection)
    for i in range(3):
        dispatcher.enqueue("process", f"depot.test/others/m{i}", "v1.0.0")
    with services.db.session() as session:
        pipeline.ensure_pending(session, top, "v1.0.0")
    dispatcher.enqueue("process", top, "v1.0.0")  # a member of someone else's tree
    assert process.job_ids[-1] == job_id("process", (top, "v1.0.0"))

    first = submit(services, dispatcher, top, "v1.0.0", RequestSource.api)
    pipeline.discover(str(first.request_id))
    asked = Queue(ASKED, connection=dispatcher.connection)
    assert asked.job_ids == [job_id("process", (top, "v1.0.0"))]
    assert len(process.job_ids) == 3

    # Processed and blocked before anyone asked again; then a second wish for it.
    asked.remove(job_id("process", (top, "v1.0.0")))
    with services.db.session() as session:
        get_version(session, top, "v1.0.0").state = VersionState.pending
    pipeline.process(top, "v1.0.0")
    with services.db.session() as session:  # the first request went: nobody waits now
        session.execute(update(Request).values(is_open=False))
    assert pipeline.validate(top, "v1.0.0").status == "blocked"
    assert process.job_ids[-1] == job_id("process", (dep, "v1.0.0"))
    asked.empty()
    again = submit(services, dispatcher, top, "v1.0.0", RequestSource.api)
    pipeline.discover(str(again.request_id))
    assert asked.job_ids == [job_id("validate", (top, "v1.0.0"))]
    assert pipeline.validate(top, "v1.0.0").status == "blocked"
    assert asked.job_ids[-1] == job_id("process", (dep, "v1.0.0"))
    assert job_id("process", (dep, "v1.0.0")) not in process.job_ids


@pytest.mark.parametrize("state", [VersionState.staged, VersionState.validating])
def test_asking_for_a_version_whose_validation_waits_in_the_crawl_moves_it_ahead(
    services: Services, queued_settings: Settings, tmp_path: Path, state: VersionState
) -> None:
    """pkg/errors, stored by viper's crawl, was asked for: its validation job sat at 474
    of 699 in the crawl queue, and the request said "validating" for over an hour."""
    top = "depot.test/crawled/top"
    services = services_on(services, upstream_of(tmp_path / "upstream", [
        fixture_module(top, "v1.0.0")]))
    dispatcher = RQDispatcher(queued_settings, connect(queued_settings))
    crawl = dispatcher.in_lane(True)
    for i in range(3):
        crawl.enqueue("validate", f"depot.test/others/m{i}", "v1.0.0")
    with services.db.session() as session:
        pipeline = Pipeline(services, dispatcher)
        row, _ = pipeline.ensure_pending(session, top, "v1.0.0")
        row.state = state
    crawl.enqueue("validate", top, "v1.0.0")
    crawled = Queue(CRAWL, connection=dispatcher.connection)
    wanted = job_id("validate", (top, "v1.0.0"))
    assert crawled.job_ids[-1] == wanted

    done = submit(services, dispatcher, top, "v1.0.0", RequestSource.api)
    assert done.created
    asked = Queue(ASKED, connection=dispatcher.connection)
    assert asked.job_ids == [wanted] and wanted not in crawled.job_ids
    assert len(crawled.job_ids) == 3


def test_a_long_wait_reads_as_a_count_and_the_first_few() -> None:
    keys = [f"depot.test/m{i}@v1.0.0" for i in range(12)]
    assert some_of(keys[:3]) == "depot.test/m0@v1.0.0, depot.test/m1@v1.0.0, depot.test/m2@v1.0.0"
    text = some_of(keys)
    assert text.startswith("12 modules: depot.test/m0@v1.0.0, ")
    assert "depot.test/m7@v1.0.0 and 4 more" in text and "m8@" not in text
    # Said against the whole build list, which is bigger than the direct requirements.
    assert some_of(keys, of=30).startswith(
        "12 of the 30 modules of its build list: depot.test/m0@v1.0.0, ")


def test_a_waiting_request_says_when_its_tree_last_moved(services: Services,
                                                        tmp_path: Path) -> None:
    """Its own row changes only when it ends: a client polling a long tree saw the time
    it was made for an hour."""
    dep, top = "depot.test/moved/dep", "depot.test/moved/top"
    services, _dispatcher, _pipeline, done = _asked_with_dep_held_back(services, tmp_path,
                                                                       dep, top)
    before = status(services, done.request_id)
    assert before["state"] == "validating"
    with services.db.session() as session:
        get_version(session, dep, "v1.0.0").state = VersionState.fetching  # the crawl
    after = status(services, done.request_id)
    assert after["updated_at"] > before["updated_at"]
    with services.db.session() as session:
        assert after["updated_at"] == get_version(session, dep, "v1.0.0").updated_at.isoformat()
