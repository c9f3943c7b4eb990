"""What every portal template can use: URL builders, the CSRF field, highlighting,
date formats, and the static files' names."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import session
from flask.sansio.app import App

from app.catalog.downloads import chart_bars
from app.catalog.modules import STATE_LABELS
from app.models import FAILED_STATES, IN_PROGRESS, VersionState
from app.pkgdoc.html import anchor, decl_html, doc_html, example_anchor
from app.portal.csrf import FIELD, csrf_token
from app.portal.urls import INSIGHT_GROUP, TAB_ROW, module_url
from app.search.highlight import highlight
from app.services.signin import signed_in
from app.shorten import size
from app.wiring import depot

HTMX_FILE = "vendor/htmx-2.0.11.min.js"


def date(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%b %-d, %Y")


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def state_label(value: object) -> str:
    """A version's or request's state in a person's words ("failed validation", "being
    validated"), not its name in the database ("validation_failed")."""
    name = str(getattr(value, "value", value))
    try:
        return STATE_LABELS[VersionState(name)]
    except ValueError:
        return name.replace("_", " ")


def number(value: int) -> str:
    return f"{value:,}"


def is_private(path: str) -> bool:
    """Whether a module is one of the company's own (DEPOT_PRIVATE): its page says so."""
    return depot().settings.is_private(path)


def install(app: App) -> None:
    app.jinja_env.globals.update(
        module_url=module_url, csrf_token=csrf_token, csrf_field=FIELD, highlight=highlight,
        htmx_file=HTMX_FILE, in_progress=IN_PROGRESS, failed_states=FAILED_STATES,
        module_tabs=TAB_ROW, insight_group=INSIGHT_GROUP, decl_html=decl_html,
        doc_html=doc_html, anchor=anchor, example_anchor=example_anchor,
        download_bars=chart_bars, is_private=is_private,
    )
    app.jinja_env.filters.update(date=date, iso=iso, number=number, filesize=size,
                                 state_label=state_label)
    app.context_processor(signin_context)


def signin_context() -> dict[str, object]:
    """Whether the header offers "Sign in", and who is signed in (OpenID Connect)."""
    if not depot().settings.oidc_issuer:
        return {"signin_offered": False, "signed_in_as": None}
    return {"signin_offered": True, "signed_in_as": signed_in(session)}
