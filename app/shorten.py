"""Text for people kept short: a client's input quoted in an error, a long reason cut.

Why: a 200 MB module path once came back whole in its 400, and reasons were cut
mid-word on pages. Pure functions, so every layer may use them.
"""

from __future__ import annotations

# How much of a client's own input an error message quotes.
QUOTE_LIMIT = 80


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A client's text for an error message: escaped (``repr``), at most ``limit``
    characters of it, and how long it was when cut."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def cut(reason: str, limit: int = 500) -> str:
    """A reason no longer than ``limit``, cut at a word boundary with an ellipsis."""
    if len(reason) <= limit:
        return reason
    head = reason[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def size(n: float) -> str:
    """Bytes as a person reads them (decimal units, as download pages say them): "512 B",
    "12 kB", "3.4 MB", "1.2 GB"."""
    if n < 1000:
        return f"{n:.0f} B"
    if n < 1_000_000:
        return f"{n / 1000:.0f} kB"
    if n < 1_000_000_000:
        return f"{n / 1_000_000:.1f} MB"
    return f"{n / 1_000_000_000:.1f} GB"
