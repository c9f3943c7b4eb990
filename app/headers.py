"""Headers every response carries, whoever answers it (Flask, the fast path, an error).

``X-Content-Type-Options: nosniff`` stops a browser from guessing that a module
file (a README, a .mod, a zip entry served as text) is HTML or script. Pages
get their Content-Security-Policy from app/portal/security.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

ALWAYS = (("X-Content-Type-Options", "nosniff"),)


def with_always(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with each of ALWAYS it lacks added at the end (in place; returned)."""
    present = {k.lower() for k, _ in headers}
    headers.extend((k, v) for k, v in ALWAYS if k.lower() not in present)
    return headers


class AlwaysHeaders:
    """WSGI middleware adding ALWAYS to each response that lacks them."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            return start_response(status, with_always(headers), exc_info)

        return self.app(environ, start)
