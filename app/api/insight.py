"""``GET /api/v1/modules/<path>/insight``: the module's insight score and its breakdown,
the same Insight the module page's tab shows (app/catalog/insight.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.api.common import iso
from app.api.shapes import InsightJSON
from app.catalog.insight import Insight
from app.services.modules import known_module
from app.wiring import depot


def insight_json(insight: Insight) -> InsightJSON:
    return {
        "path": insight.path,
        "version": insight.version,
        "score": insight.score,
        "max": insight.max,
        "computed_at": iso(insight.computed_at),
        "factors": [
            {"key": f.key, "name": f.name, "value": f.value, "points": f.points, "max": f.max,
             "explanation": f.explanation}
            for f in insight.factors
        ],
    }


def current_insight(session: Session, path: str) -> Insight:
    """The module's insight now (404 when Depot has never heard of it)."""
    known_module(session, path)
    cache = depot().insight_facts
    return cache.insight(session, path, datetime.now(UTC))


def insight_resource(session: Session, path: str) -> InsightJSON:
    return insight_json(current_insight(session, path))
