"""What the JSON API's modules share: query arguments, times as RFC 3339
and the version a request names (public: every API module uses them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from flask import request
from sqlalchemy.orm import Session

from app.catalog.modules import VersionDetail
from app.catalog.modules import version_detail as catalog_version_detail
from app.errors import BadRequest, NotFound
from app.gomod import versions
from app.inputs import whole_number
from app.services.modules import known_module


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query argument in [low, high]; BadRequest otherwise."""
    raw = request.args.get(name, "")
    if not raw:
        return default
    value = whole_number(raw, low, high)
    if value is None:
        raise BadRequest(f"{name!r} must be a whole number from {low} to {high}")
    return value


@overload
def iso(value: datetime) -> str: ...


@overload
def iso(value: datetime | None) -> str | None: ...


def iso(value: datetime | None) -> str | None:
    """RFC 3339, as the spec promises: SQLite and the search indexes hand back naive times,
    which Depot always writes in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def requested_detail(session: Session, path: str) -> VersionDetail:
    """The version named by ``?version=`` (default: latest published, else newest)."""
    wanted = request.args.get("version") or None
    if wanted is not None and not versions.is_canonical(wanted):
        raise BadRequest(f"{wanted!r} is not a canonical version such as v1.2.3")
    known_module(session, path)
    found = catalog_version_detail(session, path, wanted)
    if found is None:
        raise NotFound(f"{path}@{wanted} is not in Depot")
    return found
