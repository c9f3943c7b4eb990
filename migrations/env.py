"""Alembic environment: the URL comes from app.migrate, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.migrate import modelled
from app.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=modelled,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        # Batch mode lets SQLite alter tables (it recreates them) in later migrations.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True,
            include_name=modelled,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
