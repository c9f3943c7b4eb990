"""search on SQLite: an FTS5 index of module documents

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

On SQLite only: PostgreSQL deployments search on Elasticsearch (or the database's path
search when none is configured), see docs/search.md. ``search_documents`` holds what a
result shows; ``search_fts`` (same rowid) holds the text FTS5 matches and ranks.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        """CREATE TABLE search_documents (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            synopsis TEXT NOT NULL DEFAULT '',
            licenses TEXT NOT NULL DEFAULT '',
            used_by INTEGER NOT NULL DEFAULT 0,
            downloads INTEGER NOT NULL DEFAULT 0,
            popularity REAL NOT NULL DEFAULT 0,
            published_at TEXT,
            deprecated INTEGER NOT NULL DEFAULT 0
        )"""
    )
    # Typo correction compares a word with the names that share its first letter.
    op.execute("CREATE INDEX ix_search_documents_name ON search_documents (name)")
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5("
        "path, name, synopsis, readme, tokenize = 'unicode61', prefix = '1 2 3 4')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS search_fts")
    op.execute("DROP TABLE IF EXISTS search_documents")
