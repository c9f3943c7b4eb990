"""A version's package documentation made once and kept (``version_docs``,
``package_docs``, ``package_imports``), and read back for pages.

Why kept: documenting runs the toolchain-built helper over the whole zip (a second
for golang.org/x/tools); a page reads one row instead. A ``docs`` job makes it at
publication; a page that finds none asks for the job and says it is being prepared.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database
from app.models import (
    Module,
    ModuleVersion,
    PackageDoc,
    PackageImport,
    VersionDocs,
    utcnow,
)
from app.pkgdoc.helper_binary import HelperBuildError, helper_binary
from app.pkgdoc.produce import DocsError, ModuleDocs, produce
from app.store import ArtifactStore

log = logging.getLogger("depot.pkgdoc")

# The documentation's revision: raise it when the helper or the stored shape changes
# what a page shows, and versions documented by an older one are documented again.
RENDERER = 1


@dataclass(frozen=True)
class DocTools:
    """Where the helper is built and run: the toolchain, its build cache, scratch space."""

    go_bin: str
    tools_dir: Path
    gocache: Path
    lock_dir: Path
    work_dir: Path


@dataclass(frozen=True)
class PackageRow:
    """A package as lists show it (no documentation body)."""

    subpath: str
    import_path: str
    name: str
    synopsis: str
    command: bool
    internal: bool
    deprecated: bool


def status(session: Session, version_id: int) -> VersionDocs | None:
    """The version's documentation record of the current revision (None: not made)."""
    row = session.get(VersionDocs, version_id)
    return row if row is not None and row.renderer == RENDERER else None


_ROW = (PackageDoc.subpath, PackageDoc.import_path, PackageDoc.name, PackageDoc.synopsis,
        PackageDoc.command, PackageDoc.internal, PackageDoc.deprecated)


def packages(session: Session, version_id: int) -> list[PackageRow]:
    return [PackageRow(*r) for r in session.execute(
        select(*_ROW).where(PackageDoc.version_id == version_id).order_by(PackageDoc.subpath))]


def package(session: Session, version_id: int, subpath: str) -> PackageRow | None:
    """One package's row, without reading the others (x/tools has 214)."""
    row = session.execute(select(*_ROW).where(PackageDoc.version_id == version_id,
                                              PackageDoc.subpath == subpath)).first()
    return None if row is None else PackageRow(*row)


def package_count(session: Session, version_id: int) -> int:
    return session.scalar(select(func.count()).select_from(PackageDoc)
                          .where(PackageDoc.version_id == version_id)) or 0


def package_body(session: Session, version_id: int, subpath: str) -> dict[str, Any] | None:
    body = session.scalar(select(PackageDoc.body).where(PackageDoc.version_id == version_id,
                                                        PackageDoc.subpath == subpath))
    return None if body is None else json.loads(body)


def imports(session: Session, version_id: int, import_path: str) -> list[str]:
    return list(session.scalars(
        select(PackageImport.imported)
        .where(PackageImport.version_id == version_id, PackageImport.importer == import_path)
        .order_by(PackageImport.imported)))


@dataclass(frozen=True)
class Importer:
    """A package of another module that imports the one shown, in a version Depot
    documented."""

    import_path: str
    module: str


def imported_by(session: Session, import_path: str, module: str, page: int, per_page: int
                ) -> tuple[int, list[Importer]]:
    """(how many packages of other modules import ``import_path``, one page of them):
    each importing package once, whichever of its versions Depot documented import it."""
    base = (select(PackageImport.importer, Module.path.label("module"))
            .join(ModuleVersion, ModuleVersion.id == PackageImport.version_id)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(PackageImport.imported == import_path, Module.path != module)
            .group_by(PackageImport.importer, Module.path))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(PackageImport.importer)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return total, [Importer(r.importer, r.module) for r in rows]


def _facts(pkg: dict[str, Any]) -> dict[str, Any]:
    return {"subpath": pkg["dir"], "import_path": pkg["import_path"], "name": pkg["name"],
            "synopsis": pkg["synopsis"], "command": pkg["command"],
            "internal": pkg["internal"], "deprecated": pkg["deprecated"]}


def keep(db: Database, version_id: int, made: ModuleDocs | None, note: str = "") -> None:
    """Store the version's documentation (or, ``made`` None, why there is none), in place
    of an older revision's; a concurrent keeper's rows win."""
    bodies = [(pkg, json.dumps(pkg, separators=(",", ":"))) for pkg in
              (made.packages if made else [])]
    try:
        with db.session() as session:
            if status(session, version_id) is not None:
                return
            for table in (PackageImport, PackageDoc, VersionDocs):
                session.execute(delete(table).where(table.version_id == version_id))
            for pkg, body in bodies:
                session.add(PackageDoc(version_id=version_id, body=body, **_facts(pkg)))
                session.add_all(PackageImport(version_id=version_id, importer=pkg["import_path"],
                                              imported=imp) for imp in pkg["imports"])
            session.add(VersionDocs(
                version_id=version_id, renderer=RENDERER, ready=made is not None, note=note,
                goos=made.goos if made else "", goarch=made.goarch if made else "",
                go_version=made.go_version if made else "", packages=len(bodies),
                stored_bytes=sum(len(b) for _p, b in bodies),
                seconds=made.seconds if made else 0.0, made_at=utcnow()))
    except IntegrityError:
        pass  # another process kept the same version meanwhile


def prepare_docs(db: Database, store: ArtifactStore, tools: DocTools, module: str,
                 version: str) -> bool:
    """The ``docs`` job: document ``module@version`` unless it is already.

    False when Depot has no such version. A version the helper cannot document is kept
    as such, with the reason its pages show; a helper that cannot be built raises (the
    job is tried again, and the operator sees it)."""
    with db.session() as session:
        version_id = session.scalar(
            select(ModuleVersion.id).join(Module, Module.id == ModuleVersion.module_id)
            .where(Module.path == module, ModuleVersion.version == version))
        if version_id is None:
            return False
        if status(session, version_id) is not None:
            return True
    helper = helper_binary(tools.go_bin, tools.tools_dir, tools.gocache, tools.lock_dir)
    try:
        made = produce(store, helper, tools.work_dir, module, version)
    except DocsError as exc:
        log.warning("no documentation for %s@%s: %s", module, version, exc)
        keep(db, version_id, None, str(exc))
        return True
    keep(db, version_id, made)
    log.info("documented %s@%s: %d packages in %.1f s", module, version,
             len(made.packages), made.seconds)
    return True


def undocumented(db: Database, states: Iterable[str]) -> list[tuple[str, str]]:
    """Versions in ``states`` with no documentation of the current revision: what
    `flask --app app docs` makes."""
    done = select(VersionDocs.version_id).where(VersionDocs.renderer == RENDERER)
    with db.session() as session:
        return [(path, version) for path, version in session.execute(
            select(Module.path, ModuleVersion.version)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(ModuleVersion.state.in_(list(states)), ModuleVersion.id.not_in(done))
            .order_by(Module.path, ModuleVersion.version))]


__all__ = ["DocTools", "HelperBuildError", "PackageRow", "prepare_docs"]
