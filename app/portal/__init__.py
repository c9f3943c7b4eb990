"""HTML pages: home, search, module pages with their tabs, Set Me Up, and the
request-a-module form with its live status (one blueprint, a module per page).

Every page is plain server-rendered HTML that works without JavaScript; htmx
(static/) swaps parts of a page when it is there, asking for the fragment with
the ``HX-Request`` header (see htmx.py).
"""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from app.portal.security import secure_headers
from app.portal.urls import ModulePathConverter

bp = Blueprint("portal", __name__)
bp.after_app_request(secure_headers)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    # Before the module-page rule is added: /<module path>[@version] needs its converter.
    app.url_map.converters["modpath"] = ModulePathConverter
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    from app.portal import templating

    templating.install(app)


from app.portal import (  # noqa: E402,F401  (views register themselves on bp)
    drift,
    home,
    modules,
    requests,
    search,
    setup,
)
