"""What a process pays once before its first capture, paid before anyone waits for it.

A capture's first run in a process configured SQLAlchemy's mappers, compiled each of
its statements and loaded the license classifier's tables: 35-40 ms of CPU beside the
license tables' 0.3 s, in the first GOPROXY miss of each web process and in every
forked job. A cold `go mod download all` of cobra v1.8.1 paid it in both web processes
on its critical path (seven captures: 0.31 s of CPU without this, 0.21 s with it).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text, update

from app.fetch.download import go_directive
from app.licenses.detect import warm_up as load_license_tables
from app.models import Module, ModuleVersion, VersionState
from app.pipeline.capture import recorded_version
from app.resources import Services

log = logging.getLogger("depot.pipeline")


def warm_up(services: Services) -> None:
    """The license tables, SQLAlchemy's first query and statements, the toolchain's
    version. Never fatal: whatever fails here is paid, or said, at first use."""
    began = time.monotonic()
    try:
        load_license_tables()
        with services.db.session() as session:
            session.execute(text("SELECT 1"))
        compile_queries(services)
        go_directive(services.settings, services.work_dir)
        log.info("warmed up for captures in %.2f s", time.monotonic() - began)
    except Exception:  # an optimisation; the real use reports its trouble
        log.warning("warm-up incomplete", exc_info=True)


def compile_queries(services: Services) -> None:
    """Run the stages' usual statements once on a throw-away row, then roll back."""
    with services.db.trial() as session:
        module = Module(path="warm-up.invalid/none")
        session.add(module)
        session.flush()
        row = ModuleVersion(module_id=module.id, version="v0.0.0", state=VersionState.pending)
        session.add(row)
        session.flush()
        session.expire_all()
        row = recorded_version(session, "warm-up.invalid/none", "v0.0.0")
        session.execute(
            update(ModuleVersion)
            .where(ModuleVersion.id == row.id, ModuleVersion.state.in_([VersionState.pending]))
            .values(state=VersionState.fetching, updated_at=row.created_at)
        )
        for rel in ("artifacts", "requirements", "license_files", "retractions", "build_list"):
            getattr(row, rel)
        row.module.path  # noqa: B018 (loads the relationship)
