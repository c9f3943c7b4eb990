"""The pipeline in one process, queued the way the workers take jobs: what a request
sees the moment it ends, before any crawl reaches further."""

from __future__ import annotations

from app.pipeline.inline import InlineDispatcher
from app.pipeline.stages import Pipeline


class NoCrawl(InlineDispatcher):
    """The in-process queue without the members' own build lists (`complete` jobs): the
    moment a request ends, its version published, before any crawl reaches further."""

    def enqueue(self, stage: str, *args: str) -> None:
        if stage != "complete":
            super().enqueue(stage, *args)


class AsWorkers(Pipeline):
    """Queued `process` jobs run as the workers run them: only the version someone waits
    for has its build list worked out (Pipeline.process_queued)."""

    def run(self, stage: str, *args: str) -> object:
        return self.process_queued(*args) if stage == "process" else super().run(stage, *args)
