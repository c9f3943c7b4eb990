"""Artifact store: pick a backend from a URL (``DEPOT_STORE``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from app.store.base import (
    ArtifactMissing,
    ArtifactStore,
    ImmutableConflict,
    PutResult,
    StoredObject,
    StoreError,
    StoreFull,
    artifact_key,
)
from app.store.filesystem import FilesystemStore

__all__ = [
    "ArtifactMissing",
    "ArtifactStore",
    "FilesystemStore",
    "ImmutableConflict",
    "PutResult",
    "StoreError",
    "StoreFull",
    "StoredObject",
    "artifact_key",
    "open_store",
]


def open_store(url: str) -> ArtifactStore:
    """``file:///dir`` (or a bare path) → :class:`FilesystemStore`."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return FilesystemStore(Path(unquote(parsed.path) if parsed.scheme else url))
    raise StoreError(f"DEPOT_STORE: unsupported store URL scheme {parsed.scheme!r}")
