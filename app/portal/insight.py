"""The module page's insight: the badge in the header and the Insight tab's breakdown.

The score describes the module (its latest published version and its history), so
every version's page shows the same one; it is computed once per page view, from
the facts as they are now (no stored score can go stale on a page).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g
from sqlalchemy.orm import Session

from app.catalog.insight import Insight
from app.catalog.insight_facts import module_insight
from app.catalog.modules import VersionDetail
from app.portal.context import used_by_counts


def insight_of(session: Session, detail: VersionDetail) -> Insight:
    """The module's insight, computed once per request (the header and the tab share it)."""
    found = g.get("depot_insight")
    if found is None or found.path != detail.path:
        found = module_insight(session, detail.path, datetime.now(UTC), used_by_counts())
        g.depot_insight = found
    return found


def insight_tab(session: Session, detail: VersionDetail) -> dict:
    return {"insight": insight_of(session, detail)}
