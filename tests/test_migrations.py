"""Migrations upgrade and downgrade cleanly on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from app.config import REPO_ROOT
from app.db import Database
from app.migrate import current, downgrade, modelled, upgrade
from app.models import Base

HEAD = ScriptDirectory(str(REPO_ROOT / "migrations")).get_current_head()


def test_upgrade_downgrade_upgrade(empty_database_url: str):
    db = Database(empty_database_url)
    try:
        upgrade(db.engine)
        assert current(db.engine) == HEAD
        tables = set(inspect(db.engine).get_table_names())
        assert {"modules", "module_versions", "artifacts", "requirements", "license_files",
                "retractions", "drifts", "requests", "build_list_members", "deployments"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": modelled})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], "models and migrations disagree: add a migration"
        downgrade(db.engine, "base")
        assert current(db.engine) is None
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(db.engine)
        assert current(db.engine) == HEAD
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_the_app_and_its_commands_start_without_alembic(tmp_path: Path) -> None:
    """Every web worker, job worker and command builds the app; only migrating needs
    Alembic, whose import (with Mako) was a sixth of each start-up."""
    probe = ("import sys, app; app.create_app(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('alembic', 'mako')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "DEPOT_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


PSEUDO = "v0.0.0-20240101000000-abcdefabcdef"


def test_a_pending_row_knows_it_is_a_pseudo_version(empty_database_url: str) -> None:
    """Rows made pending (before capture describes them) take is_pseudo from the version."""
    from app.models import Module, ModuleVersion

    db = Database(empty_database_url)
    try:
        upgrade(db.engine)
        with db.session() as s:
            mod = Module(path="depot.test/p")
            s.add(mod)
            s.flush()
            s.add_all([ModuleVersion(module_id=mod.id, version=PSEUDO),
                       ModuleVersion(module_id=mod.id, version="v1.0.0"),
                       ModuleVersion(module_id=mod.id, version="v1.1.0-rc.1")])
        with db.session() as s:
            got = {v.version: v.is_pseudo for v in s.query(ModuleVersion)}
        assert got == {PSEUDO: True, "v1.0.0": False, "v1.1.0-rc.1": False}
    finally:
        db.dispose()


def test_0015_marks_pseudo_rows_made_before_it(empty_database_url: str) -> None:
    from sqlalchemy import text

    db = Database(empty_database_url)
    try:
        upgrade(db.engine, "0014")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO modules (id, path, created_at, downloads) "
                              "VALUES (1, 'depot.test/p', CURRENT_TIMESTAMP, 0)"))
            for i, v in enumerate((PSEUDO, "v1.0.0", "v1.2.1-0.20240101000000-abcdefabcdef")):
                conn.execute(text(
                    "INSERT INTO module_versions (id, module_id, version, state, reason, "
                    "is_pseudo, validation_note, build_list_tidied, created_at, updated_at) "
                    "VALUES (:id, 1, :v, 'failed', '', false, '', false, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": i + 1, "v": v})
        upgrade(db.engine)
        with db.engine.connect() as conn:
            got = dict(conn.execute(text("SELECT version, is_pseudo FROM module_versions")).all())
        assert {k: bool(v) for k, v in got.items()} == {
            PSEUDO: True, "v1.0.0": False, "v1.2.1-0.20240101000000-abcdefabcdef": True}
    finally:
        db.dispose()
