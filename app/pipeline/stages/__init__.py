"""The pipeline's stages: discover → process → (license gate) → validate → publish.

``process`` may stop once the version is captured (a GOPROXY miss answers from
there) and leave its build list to a ``complete`` job; ``tidy`` works a build list
out again for a version someone asks for after it was stored as another's member.

One module per stage (discover.py, process.py, buildlists.py, validate.py), with
what they share in base.py. Each stage is a plain method taking strings, safe to
run twice, that moves a version's state forward only after claiming it with a
conditional UPDATE (so two workers never do the same work) and hands follow-up
work to a :class:`Dispatcher`: RQ queues in production, an in-process loop for the
synchronous `ingest` command and the GOPROXY's ``fetch`` miss policy. Which queue
each stage runs on, and its retries, are in the stage table (app/stages.py).
"""

from __future__ import annotations

from app.pipeline.stages.base import (
    PROCESSABLE,
    SETTLED,
    SMALL_BUILD_LIST,
    STORED,
    Dispatcher,
    TransientError,
    claim_row,
    some_of,
)
from app.pipeline.stages.discover import Discovery
from app.pipeline.stages.process import Processing
from app.pipeline.stages.validate import Validation

__all__ = ["PROCESSABLE", "SETTLED", "SMALL_BUILD_LIST", "STORED", "Dispatcher", "Pipeline",
           "TransientError", "claim_row", "some_of"]


class Pipeline(Discovery, Processing, Validation):
    """Every stage on one set of services and one dispatcher."""

    # The method that runs each pipeline stage of the stage table (app/stages.py) by
    # name; the other stages (notify, index, render) are the dispatcher's own.
    METHODS = {"discover": "discover", "process": "process", "complete": "complete",
               "validate": "validate", "tidy": "retidy"}

    def run(self, stage: str, *args: str) -> object:
        """Run one stage by name (what a job or the in-process loop calls)."""
        method = self.METHODS.get(stage)
        if method is None:
            raise ValueError(f"unknown stage {stage!r}")
        return getattr(self, method)(*args)
