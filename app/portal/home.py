"""The home page: a search box, what Depot holds and serves, what is new and most used."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import render_template

from app.catalog import overview
from app.portal.blueprint import bp
from app.portal.client_setup import this_depot
from app.portal.context import until_published
from app.wiring import depot


@dataclass(frozen=True)
class HomeFacts:
    counts: overview.Counts
    recent: list[overview.RecentVersion]
    popular: list[overview.PopularModule]


def _facts() -> HomeFacts:
    with depot().db.session() as session:
        return HomeFacts(overview.counts(session), overview.recently_published(session, 10),
                         overview.most_used(session, 10))


def home_facts() -> HomeFacts:
    """The lists change only with publications: recomputed then, not on every visit."""
    facts = until_published("depot.home", _facts)
    with depot().db.session() as session:  # downloads move on every zip: always fresh
        downloads = overview.counts_downloads(session)
    return replace(facts, counts=replace(facts.counts, downloads=downloads))


@bp.route("/")
def home() -> str:
    facts = home_facts()
    return render_template("portal/home.html", counts=facts.counts, recent=facts.recent,
                           popular=facts.popular, setup=this_depot())
