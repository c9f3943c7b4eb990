"""Search matches marked in a text, safely: every piece is escaped, only our
``<mark>`` tags are markup."""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape


def _spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for term in terms:
        if not term:
            continue
        for m in re.finditer(re.escape(term), text, re.IGNORECASE):
            found.append((m.start(), m.end()))
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` escaped, with case-insensitive matches of ``terms`` in ``<mark>``."""
    out = Markup("")
    pos = 0
    for start, end in _spans(text, terms):
        out += escape(text[pos:start]) + Markup("<mark>") + escape(text[start:end])
        out += Markup("</mark>")
        pos = end
    return out + escape(text[pos:])
