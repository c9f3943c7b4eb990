"""HTML pages. For now the home page: what Depot holds and how to use it."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, select

from app.models import Module, ModuleVersion, VersionState

bp = Blueprint("portal", __name__)


@bp.route("/")
def home() -> str:
    db = current_app.extensions["depot"].db
    with db.session() as session:
        published = ModuleVersion.state == VersionState.published
        modules = session.scalar(
            select(func.count(func.distinct(ModuleVersion.module_id))).where(published)
        )
        version_count = session.scalar(select(func.count()).where(published))
        recent = session.execute(
            select(Module.path, ModuleVersion.version, ModuleVersion.published_at)
            .join(Module)
            .where(published)
            .order_by(ModuleVersion.published_at.desc())
            .limit(10)
        ).all()
    return render_template(
        "portal/home.html",
        modules=modules or 0,
        versions=version_count or 0,
        recent=recent,
        proxy_url=request.host_url.rstrip("/"),
    )
