"""Running the pipeline inside one process, for `flask --app app ingest` and the
GOPROXY's ``fetch`` miss policy: the same stages, with a local queue instead of RQ."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from app.catalog.prepared import prepare_version
from app.locks import flight_lock
from app.pipeline.notifications import deliver
from app.pipeline.stages import Pipeline, TransientError
from app.pkgdoc.kept import prepare_docs
from app.resources import Services
from app.search.updates import index_of, update_documents

log = logging.getLogger("depot.pipeline")


class InlineDispatcher:
    """A FIFO of stage calls drained in this process.

    ``only`` limits processing to those module paths (``ingest`` without
    ``--deps``): other members of a build list are recorded as pending and left
    for a later run or a worker.
    """
    def __init__(self, services: Services, only: set[str] | None = None,
                 held: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.services = services
        self.only = only
        # Versions whose single-flight lock the caller holds; every other version is
        # processed under its own, as a GOPROXY miss's capture is: a miss finding one in
        # a working state with no job and no lock takes it over (ingest._take_over).
        self.held = held
        self.queue: deque[tuple[str, tuple[str, ...]]] = deque()
        self.touched: list[tuple[str, str]] = []
        # The last outcome a stage returned per version (says why when no row is left).
        self.outcomes: dict[tuple[str, str], object] = {}
        # Published versions whose README is rendered once the stages are drained.
        self.rendering: list[tuple[str, str]] = []
        # Published versions whose packages are documented then too (app/pkgdoc).
        self.documenting: list[tuple[str, str]] = []
        # The stages of the stage table (app/stages.py) run here as they are enqueued, or
        # once the rest is drained; the pipeline's own stages are queued for drain.
        self.at_once: dict[str, Callable[..., None]] = {
            "notify": self._deliver, "index": self._index, "render": self._render_later,
            "docs": self._document_later}

    def enqueue(self, stage: str, *args: str) -> None:
        if stage == "process" and self.only is not None and args[0] not in self.only:
            return
        at_once = self.at_once.get(stage)
        if at_once is not None:
            at_once(*args)
            return
        self.queue.append((stage, args))

    def _deliver(self, *args: str) -> None:
        deliver(self.services, *args)

    def _render_later(self, module: str, version: str) -> None:
        self.rendering.append((module, version))

    def _document_later(self, module: str, version: str) -> None:
        self.documenting.append((module, version))

    def _index(self, *paths: str) -> None:
        """Search documents written at once; a node that is away is only worth a warning
        (`flask --app app reindex` catches up)."""
        index = index_of(self.services)
        if index is None:
            return
        try:
            update_documents(self.services, index, list(paths))
        except Exception as exc:  # the search node's client raises many kinds
            log.warning("search index not updated for %s: %s", ", ".join(paths), exc)

    def drain(self, pipeline: Pipeline) -> None:
        while self.queue:
            stage, args = self.queue.popleft()
            if stage in ("process", "validate") and tuple(args) not in self.touched:
                self.touched.append((args[0], args[1]))
            try:
                if stage == "process" and (args[0], args[1]) not in self.held:
                    with flight_lock(self.services.lock_dir, self.services.db.engine,
                                     f"ingest:{args[0]}@{args[1]}"):
                        result = pipeline.run(stage, *args)
                else:
                    result = pipeline.run(stage, *args)
                if stage in ("process", "validate"):
                    self.outcomes[(args[0], args[1])] = result
            except TransientError as exc:
                # Recorded as failed by the stage; a later ingest or a worker retries.
                log.warning("%s %s: %s", stage, " ".join(args), exc)
        while self.rendering:
            module, version = self.rendering.pop(0)
            prepare_version(self.services.db, self.services.store, module, version)
        while self.documenting:
            module, version = self.documenting.pop(0)
            prepare_docs(self.services.db, self.services.store, self.services.doc_tools,
                         module, version)
