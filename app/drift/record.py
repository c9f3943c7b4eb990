"""Write a check's outcome: a ``drift_checks`` row always, a ``drifts`` row per new finding.

A finding is new when no earlier drift row of the same version names the same file
with the same upstream bytes (or, for ``gone``, the same disappearance): a sweep
that sees the same force-pushed tag every day records and notifies it once.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.drift.check import CheckResult, FileDrift, Stored
from app.models import Artifact, Drift, DriftCheck, DriftKind, DriftOutcome
from app.pipeline.notifications import deliver
from app.resources import Services

log = logging.getLogger("depot.drift")


def stored_fingerprints(session: Session, version_id: int) -> dict[str, Stored]:
    rows = session.scalars(select(Artifact).where(Artifact.version_id == version_id)).all()
    return {a.kind.value: Stored(a.sha256, a.h1) for a in rows}


def _findings(result: CheckResult, stored: dict[str, Stored]) -> list[FileDrift]:
    if result.outcome == DriftOutcome.differs:
        return result.files
    if result.outcome == DriftOutcome.gone:
        zip_row = stored.get("zip", Stored(""))
        return [FileDrift("gone", zip_row.sha256, "", zip_row.h1, "")]
    return []


def record(session: Session, version_id: int, result: CheckResult, trigger: str
           ) -> list[dict[str, str]]:
    """Store the check and its new findings; returns the upstream_drift fields of each
    new finding (what the webhooks are told)."""
    session.add(DriftCheck(version_id=version_id, outcome=result.outcome,
                           detail=result.detail[:4000], trigger=trigger))
    stored = stored_fingerprints(session, version_id)
    new = []
    for f in _findings(result, stored):
        kind = DriftKind(f.kind)
        seen = session.scalar(
            select(Drift.id).where(
                Drift.module_path == result.module, Drift.version == result.version,
                Drift.kind == kind, Drift.upstream_sha256 == f.upstream_sha256,
            ).limit(1)
        )
        if seen is not None:
            continue
        session.add(Drift(module_path=result.module, version=result.version, kind=kind,
                          stored_sha256=f.stored_sha256, upstream_sha256=f.upstream_sha256,
                          stored_h1=f.stored_h1, upstream_h1=f.upstream_h1))
        audit.add(session, audit.DRIFT_FOUND, f"{result.module}@{result.version}",
                  f"{f.kind}: stored sha256 {f.stored_sha256 or '-'}, upstream "
                  f"{f.upstream_sha256 or '-'} (check from {trigger})")
        new.append({"module": result.module, "version": result.version, "kind": f.kind,
                    "stored_sha256": f.stored_sha256, "upstream_sha256": f.upstream_sha256,
                    "stored_h1": f.stored_h1, "upstream_h1": f.upstream_h1})
    return new


def notify_new(services: Services, findings: list[dict[str, str]]) -> int:
    """Tell the webhooks about each new finding (after the rows are committed)."""
    sent = 0
    for fields in findings:
        log.warning("upstream drift: %s@%s %s", fields["module"], fields["version"],
                    fields["kind"])
        sent += deliver(services, "upstream_drift", json.dumps(fields))
    return sent
