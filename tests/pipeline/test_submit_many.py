"""A seed list: what is published already is answered in bulk, the rest goes to work."""

from __future__ import annotations

from sqlalchemy import select

from app.ingest import ingest
from app.models import Request, RequestSource, RequestState
from app.pipeline.requests import CHUNK, submit_many
from app.resources import Services


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def enqueue(self, stage: str, *args: str) -> None:
        self.calls.append((stage, *args))


def test_published_wishes_are_answered_without_work(services: Services):
    assert ingest(services, "depot.test/chain/c", "v1.0.0").ok
    recorder = Recorder()
    seen: list[int] = []
    wishes = [("depot.test/chain/c", "v1.0.0")] * (CHUNK + 1) + [
        ("depot.test/chain/b", "v1.0.0"), ("Not/A/Module", "v1.0.0"),
        ("depot.test/chain/b", "v1.0.0"), ("depot.test/chain/c", "latest")]

    done = submit_many(services, recorder, wishes, RequestSource.seed, seen.append)

    assert (done.created, done.reused) == (CHUNK + 3, 1)
    assert [(m, q) for m, q, _ in done.refused] == [("Not/A/Module", "v1.0.0")]
    assert sum(seen) == len(wishes)
    # Only the unpublished concrete version and the `latest` wish made work.
    assert recorder.calls[0] == ("process", "depot.test/chain/b", "v1.0.0")
    assert [c[0] for c in recorder.calls] == ["process", "discover"]
    with services.db.session() as session:
        answered = session.scalars(
            select(Request).where(Request.module == "depot.test/chain/c",
                                  Request.query == "v1.0.0")).all()
        assert len(answered) == CHUNK + 1
        assert all(r.state == RequestState.resolved and not r.is_open and r.version_id
                   for r in answered)
        open_b = session.scalars(select(Request).where(Request.module == "depot.test/chain/b"))
        assert [r.is_open for r in open_b] == [True]
