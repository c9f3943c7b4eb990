"""The module page's insight: the badge in the header and the Insight tab's breakdown.

The score describes the module (its latest published version and its history), so
every version's page shows the same one. Its facts are read once per publication
(InsightFactsCache) and scored for "now" on every page view.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g
from sqlalchemy.orm import Session

from app.catalog.insight import Insight
from app.catalog.modules import VersionDetail
from app.wiring import depot


def insight_of(session: Session, detail: VersionDetail) -> Insight:
    """The module's insight, computed once per request (the header and the tab share it)."""
    found = g.get("depot_insight")
    if found is None or found.path != detail.path:
        cache = depot().insight_facts
        found = cache.insight(session, detail.path, datetime.now(UTC))
        g.depot_insight = found
    return found


def insight_tab(session: Session, detail: VersionDetail) -> dict:
    return {"insight": insight_of(session, detail)}
