"""rendered_contents: each version's README rendered once, and its synopsis

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

Pages and search answers rendered READMEs in the request (bounded, but seconds for a
hostile one). A ``render`` job now does it at publication and keeps the result here.
Existing versions get their rows from the first view (or `flask --app app render`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rendered_contents",
        sa.Column("version_id", sa.Integer(),
                  sa.ForeignKey("module_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("renderer", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rendered_contents")
