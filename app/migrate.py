"""Run Alembic migrations from code, for `flask --app app migrate` and the tests.

Alembic (with Mako) is imported by the functions that migrate: it was a
sixth of the start-up of every web worker, job worker and command, which never use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from app.config import REPO_ROOT

if TYPE_CHECKING:
    from alembic.config import Config

# Tables the migrations own that no model describes: SQLite's full-text search index
# (raw SQL, FTS5 and its shadow tables). Autogenerate and the model check leave them be.
UNMODELLED_PREFIX = "search_"


def modelled(name: str | None, type_: str, _parent: object = None) -> bool:
    """Alembic's include_name hook: compare only what the models describe."""
    return not (type_ == "table" and name is not None and name.startswith(UNMODELLED_PREFIX))


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
