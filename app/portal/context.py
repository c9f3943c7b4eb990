"""What the portal's views share besides the container (app/wiring.py): values kept until
a publication changes the catalogue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from app.wiring import depot

__all__ = ["until_published", "used_by_counts"]

V = TypeVar("V")


def until_published(name: str, compute: Callable[[], V]) -> V:
    """``compute()``'s value, kept in this process until a publication changes the catalogue."""
    kept = depot().kept
    cache = kept.get(name)
    if cache is None:
        cache = kept[name] = depot().aggregates.keep(compute)
    return cache.get()


def used_by_counts() -> Mapping[str, int]:
    """Modules using each path: an aggregate over the whole graph, so kept, not recounted."""
    return depot().aggregates.used_by()
