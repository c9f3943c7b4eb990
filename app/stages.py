"""The pipeline's stages in one table: the queue each runs on, the job function that runs
it, its retry policy and its lane. The queue (app/queue.py), the worker's jobs
(jobs/pipeline.py) and the metrics read it here; adding a stage starts here
(docs/architecture.md).

The queues are listed in the order a worker that listens on all of them takes work (the
priority): a request is resolved first; then the work someone is waiting for right now
(``asked``, see RQDispatcher.hurry); validating what is stored (what publishes) before
fetching more; small build lists (``process``) before the crawl of big ones (``crawl``);
the cheap search and notification jobs too, or a long crawl would hold them back; the
members a waiting request's big build list lacks (``members``) before anybody's deeper
crawl.
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUES = ("discovery", "asked", "validate", "process", "index", "notify", "members", "crawl")
# Work someone waits for, of any laned stage, first come first served.
ASKED = "asked"
# Work of the bulk lane (see RQDispatcher.lane): big build lists wait behind small ones.
CRAWL = "crawl"
# The members of a big build list someone waits for: what that request's validation
# needs comes before the trees of the members' members (RQDispatcher.for_members).
MEMBERS = "members"

# The job function of every pipeline stage, by dotted path (app never imports jobs).
RUN_STAGE = "jobs.pipeline.run_stage"
# Transient failures (upstream timeouts, 5xx) come back with growing pauses.
RETRY_INTERVALS = (10, 60, 300, 900)


@dataclass(frozen=True)
class Stage:
    name: str
    # The queue of its urgent lane.
    queue: str
    # Pauses, in seconds, before each retry of a failed job (as many retries as pauses).
    retry: tuple[int, ...] = RETRY_INTERVALS
    # Its work goes to ``crawl`` (or ``members``) in the bulk lane, and can be hurried to
    # ``asked`` when someone waits for it.
    laned: bool = False
    # Its arguments are (module, version): the version is ended with the reason when the
    # job's last attempt fails (Pipeline.give_up).
    versioned: bool = False
    # One job per (stage, arguments), queued once however often asked; False: a job per
    # ask (notifications; the search index's batches, which gather their own arguments).
    once: bool = True
    job: str = RUN_STAGE


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("discover", "discovery"),
    Stage("process", "process", laned=True, versioned=True),
    Stage("complete", "process", laned=True, versioned=True),
    Stage("tidy", "process"),
    Stage("validate", "validate", laned=True, versioned=True),
    Stage("notify", "notify", retry=(5, 30), once=False),
    Stage("index", "index", retry=(5, 30, 120), once=False),
    Stage("render", "index"),
    Stage("docs", "index"),
)}
LANED = frozenset(s.name for s in STAGES.values() if s.laned)
VERSIONED = frozenset(s.name for s in STAGES.values() if s.versioned)
