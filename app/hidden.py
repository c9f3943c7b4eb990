"""Module paths the current caller may not see, for the database and the caches.

An anonymous caller of a Depot with private modules (DEPOT_PRIVATE), or a token holder
outside the groups of a path rule (DEPOT_PATH_RULES), must find no trace of the modules
hidden from them: not in a list, a count, a search result or a graph. Rather than each
query remembering to leave them out, the gate (app/auth/gate.py) sets, for such a
caller's request, the patterns of the hidden paths (the GOPRIVATE syntax); every
session opened under it (app/db.py) adds the criteria of app/models.py to every ORM
query, the search backends leave those paths out of their queries, and what is kept in
memory across requests is kept per :func:`key`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The patterns (GOPRIVATE syntax) of the paths hidden from the current caller; None: none.
_HIDDEN: ContextVar[str | None] = ContextVar("depot_hidden", default=None)


def current() -> str | None:
    """The hidden paths' patterns for the caller being served, or None."""
    return _HIDDEN.get()


def key() -> str:
    """What a cache shared by callers must add to its keys: "" for one who sees all."""
    return _HIDDEN.get() or ""


@contextmanager
def hiding(patterns: str | None) -> Iterator[None]:
    """Hide paths under ``patterns`` from what runs inside (None: hide nothing)."""
    token = _HIDDEN.set(patterns or None)
    try:
        yield
    finally:
        _HIDDEN.reset(token)


# What the caller may not see, whatever the route (set for every request of such a caller,
# where _HIDDEN is set only for the routes that list): what it may not ask Depot for.
_CALLER: ContextVar[str] = ContextVar("depot_caller_hides", default="")


def set_caller(patterns: str) -> None:
    """For the gate: the current caller may not see the modules under ``patterns``."""
    _CALLER.set(patterns)


def caller_hides() -> str:
    """The patterns of the modules the current caller may not see ("" none)."""
    return _CALLER.get()


def set_for_request(patterns: str | None) -> None:
    """For the gate: hide from the rest of this request (reset by :func:`clear`)."""
    _HIDDEN.set(patterns or None)


def clear() -> None:
    """The request is over: its thread goes on to serve others."""
    _HIDDEN.set(None)
    _CALLER.set("")
