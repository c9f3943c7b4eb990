"""The portal's one blueprint, apart from the package so that its views can import it
without importing each other (the package imports the views to register them)."""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from app.portal import templating
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
    templating.install(app)
