"""RQ jobs of the drift alarm: the scheduled sweep and the on-demand check of a module."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.drift.check import CheckResult
from app.drift.sweep import check_module, sweep
from app.metrics import record_job
from app.queue import connect
from app.resources import Services
from jobs.pipeline import worker_services

log = logging.getLogger("depot.jobs")


def _counted(stage: str, fn: Callable[[Services], list[CheckResult]]) -> None:
    services = worker_services()
    began, ok = time.monotonic(), False
    try:
        results = fn(services)
        ok = True
    finally:
        record_job(connect(services.settings), stage, time.monotonic() - began, ok)
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome.value] = outcomes.get(r.outcome.value, 0) + 1
    log.info("%s: %d version(s) checked: %s", stage, len(results), outcomes or "none")


def sweep_job() -> None:
    """Check DEPOT_DRIFT_SAMPLE published versions, least recently checked first."""
    _counted("drift", lambda svc: sweep(svc, svc.settings.drift_sample))


def module_job(module: str, version: str = "", trigger: str = "api") -> None:
    """Check one module's published versions (or one of them) now."""
    _counted("drift", lambda svc: check_module(
        svc, module, version or None, max(1, svc.settings.drift_sample), trigger))
