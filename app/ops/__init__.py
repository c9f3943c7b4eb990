"""Operations routes. For now /metrics: the pipeline's queues and jobs for Prometheus
(the chart scales workers on queue depth)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST

from app.metrics import render
from app.queue import connect

bp = Blueprint("ops", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    settings = current_app.extensions["depot"].settings
    return Response(render(connect(settings)), content_type=CONTENT_TYPE_LATEST)
