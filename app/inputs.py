"""Bounds on what a client sends: ids in URLs, whole numbers in queries, JSON bodies.

Why here, once: a request id of 2**63 is an OverflowError in SQLite's driver, "²" passes
``str.isdigit`` and fails ``int``, 100,000 nested ``[`` are a RecursionError in the JSON
decoder. Each was a 500; every route reads its input through these instead (and
app/shorten.py bounds how much of it an error quotes).
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.routing import IntegerConverter

# Ids are 32-bit integers in every database Depot runs on; larger ones name nothing.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a number past :data:`MAX_ID` matches no route (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def whole_number(raw: str, low: int, high: int) -> int | None:
    """``raw`` as a whole number within [low, high]; None when it is not one (ASCII digits
    only, never longer than ``high`` can be written)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(high)):
        return None
    value = int(raw)
    return value if low <= value <= high else None


class BodyError(ValueError):
    """A request body that is no JSON object; the message says what to send."""


def json_object(request: Request, hint: str) -> dict[str, Any]:
    """The request's JSON body as an object, or :class:`BodyError` with ``hint``. (An
    oversize body never gets here: Flask answers 413 on MAX_CONTENT_LENGTH first.)"""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise BodyError(f"JSON nested too deeply; {hint}") from None
    if not isinstance(body, dict):
        raise BodyError(hint)
    return body
