"""download_days: zips served per module, version and day

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

The module page shows downloads per version and a chart of the last 90 days (GoCenter
showed downloads); modules.downloads stays the all-time total. Counts start now.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "download_days",
        sa.Column("module_id", sa.Integer(),
                  sa.ForeignKey("modules.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.String(255), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("download_days")
