"""Which Range header values Depot answers with a part; the rest are ignored (200)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from app.ranges import SingleRangeOnly, single_byte_range


@pytest.mark.parametrize(("value", "answered"), [
    ("bytes=0-1", True),
    ("bytes=5-", True),
    ("bytes=-5", True),
    ("bytes=0-1,2-3", False),  # several parts: no multipart/byteranges here
    ("bytes=0-9, 20-29, 5-6", False),
    ("items=0-1", False),  # RFC 9110: a unit the server does not know is ignored
    ("bytes=9-2", False),  # bad syntax
    ("bytes=", False),
    ("", False),
])
def test_single_byte_range(value: str, answered: bool) -> None:
    assert single_byte_range(value) is answered


def test_the_middleware_drops_only_what_it_would_not_answer() -> None:
    seen: list[str | None] = []

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        seen.append(environ.get("HTTP_RANGE"))
        return [b""]

    wrapped = SingleRangeOnly(app)
    for value in ("bytes=0-1,2-3", "bytes=0-1", None):
        environ = {} if value is None else {"HTTP_RANGE": value}
        wrapped(environ, lambda *a: None)
    assert seen == [None, "bytes=0-1", None]
