"""search on SQLite: each FTS5 document carries the module's insight score

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

On SQLite only, like 0006. Existing documents get 0 until they are written again:
run ``flask --app app reindex`` after upgrading (docs/insight.md) so that sorting by
insight orders them by their real scores.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE search_documents ADD COLUMN insight INTEGER NOT NULL DEFAULT 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE search_documents DROP COLUMN insight")
