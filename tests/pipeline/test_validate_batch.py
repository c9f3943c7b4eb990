"""Batched validation: one clean-room consumer for several ready versions, and each
version alone when the batch fails, so every verdict is about one version."""

from __future__ import annotations

from collections import deque

from sqlalchemy import update

from app.models import Artifact, ArtifactKind, VersionState
from app.pipeline.capture import get_version
from app.pipeline.stages import Pipeline
from app.resources import Services
from tests.conftest import with_settings

C = ("depot.test/chain/c", "v1.0.0")
B = ("depot.test/chain/b", "v1.0.0")
A10 = ("depot.test/chain/a", "v1.0.0")
A11 = ("depot.test/chain/a", "v1.1.0")


class HoldValidations:
    """Runs processing at once and keeps the validations it is asked for."""

    def __init__(self) -> None:
        self.process: deque[tuple[str, ...]] = deque()
        self.validate: list[tuple[str, ...]] = []
        self.withdrawn: list[tuple[str, ...]] = []

    def enqueue(self, stage: str, *args: str) -> None:
        if stage == "process":
            self.process.append(args)
        elif stage == "validate":
            self.validate.append(args)

    def withdraw(self, stage: str, *args: str) -> None:
        assert stage == "validate"
        self.withdrawn.append(args)


class CountingPipeline(Pipeline):
    """The real pipeline, counting its clean-room builds and their sizes."""

    rooms: list[int]

    def _clean_room(self, targets):  # type: ignore[no-untyped-def]
        self.rooms.append(len(targets))
        return super()._clean_room(targets)


def staged(services: Services, *wishes: tuple[str, str]) -> CountingPipeline:
    hold = HoldValidations()
    pipeline = CountingPipeline(services, hold)
    pipeline.rooms = []
    for module, version in wishes:
        with services.db.session() as session:
            pipeline.ensure_pending(session, module, version)
        hold.process.append((module, version))
    while hold.process:
        pipeline.process(*hold.process.popleft())
    return pipeline


def state(services: Services, target: tuple[str, str]) -> tuple[VersionState, str]:
    with services.db.session() as session:
        row = get_version(session, *target)
        return row.state, row.reason


def test_one_consumer_build_validates_every_ready_compatible_version(services: Services):
    pipeline = staged(services, A11, A10)
    for target in (A11, A10, B, C):
        assert state(services, target)[0] == VersionState.staged

    outcome = pipeline.validate(*C)

    assert outcome.status == "published"
    # a@v1.0.0 and a@v1.1.0 cannot share a consumer: one of them waits for the next job.
    assert pipeline.rooms == [3]
    published = [t for t in (A11, A10, B, C) if state(services, t)[0] == VersionState.published]
    assert len(published) == 3 and {B, C} <= set(published)
    # The companions' queued jobs were withdrawn: no worker needs to look at them.
    assert sorted(pipeline.dispatcher.withdrawn) == sorted(t for t in published if t != C)
    # The companions' own jobs find nothing left to do; the one left out gets its own build.
    assert pipeline.validate(*B).status == "skipped"
    left = next(t for t in (A11, A10) if t not in published)
    assert pipeline.validate(*left).status == "published"
    assert pipeline.rooms == [3, 1]


def test_a_failing_batch_is_validated_member_by_member(services: Services):
    pipeline = staged(services, A11)
    with services.db.session() as session:
        row = get_version(session, *A11)
        session.execute(
            update(Artifact)
            .where(Artifact.version_id == row.id, Artifact.kind == ArtifactKind.zip)
            .values(h1="h1:" + "A" * 43 + "=")
        )

    pipeline.validate(*C)

    assert pipeline.rooms == [3, 1, 1, 1]
    assert state(services, C)[0] == VersionState.published
    assert state(services, B)[0] == VersionState.published
    verdict, reason = state(services, A11)
    assert verdict == VersionState.validation_failed
    assert reason.startswith("hash mismatch for depot.test/chain/a@v1.1.0")


def test_batch_of_one_is_the_old_single_validation(services: Services):
    single = with_settings(services.settings, validate_batch=1)
    svc = Services.from_settings(single)
    try:
        pipeline = staged(svc, A11)
        pipeline.validate(*C)
        assert pipeline.rooms == [1]
        assert [state(svc, t)[0] for t in (C, B, A11)] == [
            VersionState.published, VersionState.staged, VersionState.staged]
    finally:
        svc.db.dispose()


def test_retry_after_a_dead_batch_takes_its_companions_back(services: Services):
    pipeline = staged(services, A11)
    owner_mark = Pipeline._batch_mark(*C)
    with services.db.session() as session:
        for target, reason in ((C, ""), (B, owner_mark), (A11, owner_mark)):
            row = get_version(session, *target)
            row.state, row.reason = VersionState.validating, reason
    # A fresh job for B cannot touch what the dead batch holds...
    assert pipeline.validate(*B).status == "skipped"
    # ...the retry of the dead job (reclaim) validates all of it.
    retry = CountingPipeline(services, HoldValidations(), reclaim=True)
    retry.rooms = []
    assert retry.validate(*C).status == "published"
    assert retry.rooms == [3]
    assert all(state(services, t)[0] == VersionState.published for t in (C, B, A11))


def test_retry_after_the_owner_was_published_finishes_the_dead_batch(services: Services):
    """Killed after publishing its own version (before its @v/list and its companions):
    the retry writes the list and validates the companions the dead run held."""
    pipeline = staged(services, A11)
    owner_mark = Pipeline._batch_mark(*C)
    with services.db.session() as session:
        for target, new_state, reason in ((C, VersionState.published, ""),
                                          (B, VersionState.validating, owner_mark),
                                          (A11, VersionState.validating, owner_mark)):
            row = get_version(session, *target)
            row.state, row.reason = new_state, reason
    assert services.store.read_list(C[0]) is None  # the dead run never wrote it
    assert pipeline.validate(*C).status == "skipped"  # a fresh job has nothing to do
    retry = CountingPipeline(services, HoldValidations(), reclaim=True)
    retry.rooms = []
    assert retry.validate(*C).status == "skipped"
    assert services.store.read_list(C[0]) == ["v1.0.0"]
    assert retry.rooms == [2]
    assert all(state(services, t)[0] == VersionState.published for t in (C, B, A11))


def test_retry_after_staging_queues_the_validation_the_dead_run_did_not(services: Services):
    staged(services, C)  # processed; its validation job was "lost" with the worker
    hold = HoldValidations()
    assert Pipeline(services, hold).process(*C).status == "skipped"
    assert hold.validate == []
    assert Pipeline(services, hold, reclaim=True).process(*C).status == "skipped"
    assert hold.validate == [C]
    # The same for a `complete` job (the rest of a GOPROXY miss's capture), killed
    # between staging its version and queueing its validation: its retry queues it.
    hold = HoldValidations()
    assert Pipeline(services, hold).complete(*C).status == "skipped"
    assert hold.validate == []
    assert Pipeline(services, hold, reclaim=True).complete(*C).status == "skipped"
    assert hold.validate == [C]


def test_a_version_someone_waits_for_takes_companions_from_its_own_tree_only(
    services: Services,
):
    from app.models import Request, RequestSource, RequestState

    pipeline = staged(services, A11, A10)
    with services.db.session() as session:
        row = get_version(session, *B)
        session.add(Request(module=B[0], query=B[1], source=RequestSource.api,
                            version_id=row.id, state=RequestState.resolved))

    # b's tree is c alone: a@v1.1.0 and a@v1.0.0 (ready, compatible) are someone else's.
    assert pipeline.validate(*B).status == "published"
    assert pipeline.rooms == [2]
    assert state(services, C)[0] == VersionState.published
    assert {state(services, t)[0] for t in (A11, A10)} == {VersionState.staged}
