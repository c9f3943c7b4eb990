"""api_tokens.groups: the groups a token's holder belongs to, for DEPOT_PATH_RULES

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

A path rule (`corp.example/team-a/*=team-a`) lets only callers in its groups see the
modules under it; a token's groups are given at creation (`tokens create --group`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("groups", sa.String(500), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("groups")
