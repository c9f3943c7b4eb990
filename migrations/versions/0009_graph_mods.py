"""graph_mods: go.mod files graph loading reads without selecting their versions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A consumer whose only GOPROXY is Depot reads, besides its build list, the go.mod of
every version an unpruned module graph names; Depot captures those while computing a
build list and serves them. Existing installations have none until their versions'
build lists are computed again.

Also removes the module rows that have no version: the go command's probes of path
prefixes (``github.com/owner/@v/v1.0.0.info``) left them behind, each a module page
with nothing in it. The pipeline no longer keeps them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graph_mods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_path", sa.String(512), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("h1", sa.String(64), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("module_path", "version", name="uq_graph_mod"),
    )
    op.execute("DELETE FROM modules WHERE id NOT IN (SELECT module_id FROM module_versions)")


def downgrade() -> None:
    op.drop_table("graph_mods")
