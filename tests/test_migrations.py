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
