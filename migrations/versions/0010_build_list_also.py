"""build_list_members.selected: versions other consumers select besides the contract's

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

A build list now names, besides the graph of a consumer importing every package of
the version and tidied (``selected``), the versions a `go get` alone or a consumer of
the root package selects instead; so one build list may name two versions of a path,
and the unique constraint moves from (version, path) to (version, path, version).
Existing rows are all selected.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("build_list_members") as batch:
        batch.add_column(sa.Column("selected", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.drop_constraint("uq_build_list_path", type_="unique")
        batch.create_unique_constraint("uq_build_list_member",
                                       ["version_id", "path", "member_version"])


def downgrade() -> None:
    op.execute("DELETE FROM build_list_members WHERE NOT selected")
    with op.batch_alter_table("build_list_members") as batch:
        batch.drop_constraint("uq_build_list_member", type_="unique")
        batch.create_unique_constraint("uq_build_list_path", ["version_id", "path"])
        batch.drop_column("selected")
