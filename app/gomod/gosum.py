"""go.sum lines, read strictly: ``<module> <version> h1:<hash>`` (the zip's hash) and
``<module> <version>/go.mod h1:<hash>`` (the go.mod's), one a line.

Why strictly: a person pastes a go.sum to have it compared with what Depot stores, and
a line read wrongly would be a mismatch nobody can explain. Each refusal names the line.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from app.gomod._util import quote
from app.gomod.errors import GoModError, GoSumParseError
from app.gomod.paths import check_module_path
from app.gomod.versions import check_path_version, is_canonical

__all__ = ["GOMOD_SUFFIX", "SumKind", "SumLine", "parse_gosum"]

GOMOD_SUFFIX = "/go.mod"
SumKind = Literal["zip", "go.mod"]


@dataclass(frozen=True, slots=True)
class SumLine:
    """One go.sum line; ``line`` counts from 1, as an editor does."""

    path: str
    version: str
    kind: SumKind
    hash: str
    line: int


def _hash_reason(text: str) -> str | None:
    """Why ``text`` is no h1 hash (``h1:`` and the base64 of 32 bytes), or None."""
    if not text.startswith("h1:"):
        return f"hash {quote(text[:60])} is not an h1: hash"
    try:
        raw = base64.b64decode(text[3:], validate=True)
    except (binascii.Error, ValueError):
        return f"hash {quote(text[:60])} is not valid base64"
    if len(raw) != 32:
        return f"hash {quote(text[:60])} is not a SHA-256 (32 bytes)"
    return None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line:
            yield number, line


def parse_gosum(text: str) -> list[SumLine]:
    """Every line of a go.sum; GoSumParseError on the first one that is not a go.sum line
    (blank lines are skipped, as the go command skips them)."""
    found: list[SumLine] = []
    for number, line in _lines(text):
        fields = line.split()
        if len(fields) != 3:
            raise GoSumParseError(
                f"go.sum line {number}: expected 'module version h1:hash', "
                f"got {len(fields)} fields: {quote(line[:120])}")
        path, version, digest = fields
        kind: SumKind = "zip"
        if version.endswith(GOMOD_SUFFIX):
            version, kind = version[: -len(GOMOD_SUFFIX)], "go.mod"
        try:
            check_module_path(path)
            if not is_canonical(version):
                raise GoSumParseError(f"{quote(version[:60])} is not a canonical version")
            check_path_version(path, version)
        except GoModError as exc:
            raise GoSumParseError(f"go.sum line {number}: {exc}") from None
        reason = _hash_reason(digest)
        if reason:
            raise GoSumParseError(f"go.sum line {number}: {reason}")
        found.append(SumLine(path, version, kind, digest, number))
    return found
