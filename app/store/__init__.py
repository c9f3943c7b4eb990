"""Artifact store: pick a backend from a URL (``DEPOT_STORE``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from app.store.base import (
    ArtifactMissing,
    ArtifactStore,
    ImmutableConflict,
    Leftover,
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
    "Leftover",
    "PutResult",
    "StoreError",
    "StoreFull",
    "StoredObject",
    "artifact_key",
    "open_store",
]


def open_store(url: str, *, s3: object | None = None, cache_dir: Path | None = None
               ) -> ArtifactStore:
    """``file:///dir`` (or a bare path) → :class:`FilesystemStore`;
    ``s3://bucket[/prefix]`` → :class:`~app.store.s3.S3Store` reached with ``s3``
    (an :class:`~app.store.s3.S3Options`), keeping its local scratch (write locks,
    the toolchain's mirror) in ``cache_dir``."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return FilesystemStore(Path(unquote(parsed.path) if parsed.scheme else url))
    if parsed.scheme == "s3":
        from app.store.s3 import S3Options, S3Store, parse_s3_url

        bucket, prefix = parse_s3_url(url)
        options = s3 if isinstance(s3, S3Options) else S3Options()
        return S3Store(bucket, prefix, options, cache_dir)
    raise StoreError(f"DEPOT_STORE: unsupported store URL scheme {parsed.scheme!r}"
                     " (want file:// or s3://)")
