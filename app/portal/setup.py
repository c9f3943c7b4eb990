"""Set Me Up: how to point the go command (and CI, build tools and other proxies) at
this Depot, with this server's own URL; the values come from client_setup, the same
ones the home page shows."""

from __future__ import annotations

from flask import render_template

from app.portal.blueprint import bp
from app.portal.client_setup import this_depot


@bp.route("/set-me-up")
def set_me_up() -> str:
    return render_template("portal/set_me_up.html", setup=this_depot())
