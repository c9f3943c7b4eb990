"""What a full-text index stores for a module, built from the database and the store.

One document per module with a published version: the result fields of
documents.py plus what ranking and matching need (every published version,
the README's text, downloads, the go directive). Built in batches of paths, so
a rebuild of 100,000 modules streams instead of loading the catalogue at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.prepared import SYNOPSIS, prepared
from app.catalog.usage import PUBLISHED
from app.content.files import README_MAX, read_zip_text
from app.db import Database
from app.gomod.paths import module_name
from app.models import Module, ModuleVersion
from app.search.documents import build_documents
from app.store import ArtifactStore

README_INDEXED = 32 * 1024  # characters of README text a document keeps for matching


def published_paths(session: Session) -> list[str]:
    """Every module with a published version, by path."""
    return list(session.scalars(
        select(Module.path).join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(PUBLISHED).distinct().order_by(Module.path)
    ))


def search_document(*, path: str, version: str, versions: Sequence[str], synopsis: str,
                    readme: str, licenses: Sequence[str], used_by: int, downloads: int,
                    published_at: str | None, go_version: str | None, deprecated: bool,
                    insight: int | None) -> dict[str, Any]:
    """The one shape of a search document, which both backends index (the test corpus and
    the benchmarks make theirs here too)."""
    return {
        "path": path,
        "last": module_name(path),
        "version": version,
        "versions": list(versions),
        "synopsis": synopsis,
        "readme": readme,
        "licenses": list(licenses),
        "used_by": used_by,
        "downloads": downloads,
        "published_at": published_at,
        "go_version": go_version,
        "deprecated": deprecated,
        "insight": insight,
    }


def index_documents(
    db: Database, session: Session, store: ArtifactStore, paths: Sequence[str],
    used_by: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Index documents for ``paths``; paths with no published version are left out.

    Each README is read from its zip once, for both the synopsis and the indexed text.
    """
    base = build_documents(session, paths, used_by, None)
    if not base:
        return []
    wanted = [d.path for d in base]
    extra: dict[str, dict[str, Any]] = {}
    for path, version, version_id, go_version, readme_name, downloads in session.execute(
        select(Module.path, ModuleVersion.version, ModuleVersion.id, ModuleVersion.go_version,
               ModuleVersion.readme_name, Module.downloads)
        .join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(PUBLISHED, Module.path.in_(wanted))
    ):
        held = extra.setdefault(path, {"versions": [], "downloads": int(downloads or 0)})
        held["versions"].append(version)
        held.setdefault("rows", {})[version] = (version_id, go_version, readme_name)
    out = []
    for doc in base:
        held = extra[doc.path]
        version_id, go_version, readme_name = held["rows"][doc.version]
        readme = ""
        # The synopsis the render job kept (made and kept here if it has not run yet).
        summary = prepared(db, store, doc.path, doc.version, version_id, readme_name,
                           [SYNOPSIS])[SYNOPSIS].body
        if readme_name:
            found = read_zip_text(store, doc.path, doc.version, readme_name, README_MAX)
            if found.text is not None:
                readme = found.text[:README_INDEXED]
        out.append(search_document(
            path=doc.path, version=doc.version, versions=sorted(held["versions"]),
            synopsis=summary, readme=readme, licenses=doc.licenses, used_by=doc.used_by,
            downloads=held["downloads"],
            published_at=doc.published_at.isoformat() if doc.published_at else None,
            go_version=go_version, deprecated=doc.deprecated, insight=doc.insight,
        ))
    return out


def all_documents(
    db: Database, store: ArtifactStore, used_by: Mapping[str, int], batch: int = 200,
) -> tuple[int, Iterator[dict[str, Any]]]:
    """(how many modules, their documents streamed in batches) for a full rebuild."""
    with db.session() as session:
        paths = published_paths(session)

    def stream() -> Iterator[dict[str, Any]]:
        for start in range(0, len(paths), batch):
            with db.session() as session:
                yield from index_documents(db, session, store, paths[start:start + batch],
                                           used_by)

    return len(paths), stream()
