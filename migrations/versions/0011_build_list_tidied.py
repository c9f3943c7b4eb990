"""module_versions.build_list_tidied: whether its build list is the tidied one

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Build lists are tidied (`go mod tidy` in the contract's consumer) only for versions
someone asks for; a crawled member keeps the `go get` graph. A version first stored
as a member and asked for later must have its build list worked out again, tidied,
before the tidy gate judges it. Existing rows: unknown, so False (worked out again
when asked for).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("module_versions") as batch:
        batch.add_column(sa.Column("build_list_tidied", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("module_versions") as batch:
        batch.drop_column("build_list_tidied")
