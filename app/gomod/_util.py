"""Small private helpers shared by the gomod modules."""

from __future__ import annotations

import json


def quote(s: str) -> str:
    """Quote user-supplied text for an error message.

    Untrusted names may hold control characters, newlines or lone surrogates;
    JSON-style ASCII escaping keeps the message printable and on one line.
    """
    return json.dumps(s, ensure_ascii=True)


def is_utf8(s: str) -> bool:
    """Report whether ``s`` can be encoded as UTF-8 (no lone surrogates)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
