"""The discovery stage: a request's wish (``latest``, a version, a package path)
becomes one concrete version, whose processing starts once."""

from __future__ import annotations

from app import audit
from app.fetch.download import resolve
from app.fetch.errors import FetchError, UpstreamNotFound
from app.models import Request, RequestSource, RequestState, VersionState, is_held
from app.pipeline.stages.base import PipelineBase, TransientError


class Discovery(PipelineBase):
    """The ``discover`` stage."""

    def discover(self, request_id: str) -> None:
        """Turn a request's wish into a concrete version and start its processing once."""
        with self.services.db.session() as session:
            req = session.get(Request, int(request_id))
            if req is None or not req.is_open:
                return
            module, query = req.module, req.query
            # Someone (or a client) waits for it: its work goes ahead of others' trees.
            waited_for = req.source != RequestSource.seed
        version = query
        if query == "latest":
            with self._workdir("resolve-") as workdir:
                try:
                    version = resolve(self.settings, workdir, module, query)
                except FetchError as exc:
                    if not exc.permanent:
                        raise TransientError(exc.reason) from exc
                    reason = exc.reason
                    if isinstance(exc, UpstreamNotFound):
                        reason = self._instead(module, query, exc.reason)
                    self._end_request(int(request_id), RequestState.rejected, reason)
                    return
        with self.services.db.session() as session:
            req = session.get_one(Request, int(request_id))
            row, needs_work = self.ensure_pending(session, module, version)
            req.version_id, req.state = row.id, RequestState.resolved
            state = row.state
            settled = state in (VersionState.published, VersionState.rejected,
                                VersionState.validation_failed)
            held = is_held(state, row.redistributable)
            if settled or held:
                req.is_open = False  # nothing more will happen for this wish
        if needs_work:
            self.dispatcher.enqueue("process", module, version)
        if not waited_for:
            return
        if needs_work:
            self._hurry("process", [f"{module}@{version}"])
        elif state == VersionState.blocked:
            # Validated again as asked work, which hurries the few members it lacks
            # (testify@v1.9.0, blocked as another tree's member a minute before it was
            # asked for, then waited 9 minutes for one module).
            self._ask("validate", module, version)
        elif state == VersionState.captured:  # captured by a miss: its build list next
            self._hurry("complete", [f"{module}@{version}"])
        elif state in (VersionState.staged, VersionState.validating):
            # Stored by another tree's crawl, its validation queued behind that crawl
            # (pkg/errors, asked for, waited at 474 of 699 in `crawl` in a trial).
            self._ask("validate", module, version)

    def _end_request(self, request_id: int, state: RequestState, reason: str) -> None:
        with self.services.db.session() as session:
            req = session.get_one(Request, request_id)
            req.state, req.reason, req.is_open = state, reason, False
            module, query = req.module, req.query
            audit.add(session, audit.REQUEST_REJECTED if state == RequestState.rejected
                      else audit.REQUEST_FAILED, f"{module}@{query}",
                      f"request #{request_id}: {reason}")
        kind = "request_rejected" if state == RequestState.rejected else "request_failed"
        self.notify(kind, module=module, query=query, reason=reason)
