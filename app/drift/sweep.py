"""Which versions to look at, when a scheduled sweep is due, and running the checks.

Sweeps take published tagged versions least recently checked first (never-checked
ones before all others), so over time every version is looked at in turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drift.check import CheckResult, Stored, check_version, info_facts
from app.drift.record import notify_new, record, stored_fingerprints
from app.models import DriftCheck, Module, ModuleVersion, VersionState
from app.resources import Services

# Present while a sweep interval runs (its TTL is the interval): whoever sets it starts
# the next sweep, so all workers together start one per interval.
NEXT_SWEEP_KEY = "depot:drift:next-sweep"
# Set once, the first time any worker looks: the first sweep comes one interval after
# Depot started, not at every fresh start.
CLOCK_KEY = "depot:drift:clock"


@dataclass(frozen=True)
class Target:
    version_id: int
    module: str
    version: str


def pick(session: Session, limit: int, module: str | None = None,
         version: str | None = None) -> list[Target]:
    """Published versions to check, least recently checked first.

    The sweep (no ``module``) takes tagged versions only: a pseudo-version names a
    commit, which no force-push can move. A module's check takes all of its own.
    """
    last = (select(DriftCheck.version_id, func.max(DriftCheck.checked_at).label("last"))
            .group_by(DriftCheck.version_id).subquery())
    q = (select(ModuleVersion.id, Module.path, ModuleVersion.version)
         .join(Module, Module.id == ModuleVersion.module_id)
         .outerjoin(last, last.c.version_id == ModuleVersion.id)
         .where(ModuleVersion.state == VersionState.published))
    if module is None:
        q = q.where(ModuleVersion.is_pseudo.is_(False))
    else:
        q = q.where(Module.path == module)
    if version is not None:
        q = q.where(ModuleVersion.version == version)
    q = q.order_by(last.c.last.is_(None).desc(), last.c.last.asc(), ModuleVersion.id)
    return [Target(*row) for row in session.execute(q.limit(limit)).all()]


def run_checks(services: Services, targets: list[Target], trigger: str,
               progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check each target, record every outcome and notify each new finding once."""
    results = []
    for t in targets:
        with services.db.session() as session:
            stored = stored_fingerprints(session, t.version_id)
        stored = with_info_facts(services, t, stored)
        result = check_version(services.settings, services.work_dir, t.module, t.version,
                               stored)
        with services.db.session() as session:
            findings = record(session, t.version_id, result, trigger)
        notify_new(services, findings)
        results.append(result)
        if progress:
            progress(result)
    return results


def with_info_facts(services: Services, t: Target, stored: dict[str, Stored]
                    ) -> dict[str, Stored]:
    """Depot's .info fingerprint with its facts, read from the store (a few bytes)."""
    row = stored.get("info")
    if row is None:
        return stored
    try:
        data = services.store.read_bytes(t.module, t.version, "info")
    except Exception:  # no facts: the sha256 alone decides, as before
        return stored
    return {**stored, "info": replace(row, facts=info_facts(data))}


def sweep(services: Services, sample: int, trigger: str = "sweep",
          progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """One scheduled sweep: ``sample`` versions across all modules."""
    with services.db.session() as session:
        targets = pick(session, sample)
    return run_checks(services, targets, trigger, progress)


def check_module(services: Services, module: str, version: str | None, limit: int,
                 trigger: str, progress: Callable[[CheckResult], None] | None = None
                 ) -> list[CheckResult]:
    """The on-demand check of one module (or one of its versions)."""
    with services.db.session() as session:
        targets = pick(session, limit, module, version)
    return run_checks(services, targets, trigger, progress)


def claim_sweep(connection: Redis, interval: int, now: float | None = None) -> bool:
    """True for exactly one caller per ``interval`` seconds, across all workers.

    The very first call anywhere only starts the clock, so a fresh Depot (or a test's
    worker) does not re-fetch from its upstream the moment it starts.
    """
    if interval <= 0:
        return False
    stamp = str(now if now is not None else time.time())
    if not connection.set(NEXT_SWEEP_KEY, stamp, nx=True, ex=interval):
        return False
    return not connection.set(CLOCK_KEY, stamp, nx=True)
