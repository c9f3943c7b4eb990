"""The home page: a search box, what Depot holds and serves, what is new and most used."""

from __future__ import annotations

from flask import render_template

from app.catalog import overview
from app.portal import bp
from app.portal.context import services


@bp.route("/")
def home() -> str:
    with services().db.session() as session:
        counts = overview.counts(session)
        recent = overview.recently_published(session, 10)
        popular = overview.most_used(session, 10)
    return render_template("portal/home.html", counts=counts, recent=recent, popular=popular)
