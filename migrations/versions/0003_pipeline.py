"""pipeline: requests, build lists, license verdicts, more version states

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATE = sa.Enum(
    "pending", "fetching", "processing", "staged", "validating", "blocked", "published",
    "rejected", "failed", "validation_failed",
    name="version_state", native_enum=False, length=24,
)
OLD_STATE = sa.Enum(
    "pending", "staged", "published", "rejected", "failed",
    name="version_state", native_enum=False, length=16,
)


def _kind(length: int, name: str) -> sa.Enum:
    return sa.Enum("info", "mod", "zip", name=name, native_enum=False, length=length)


def upgrade() -> None:
    # Every enum column is 24 wide now ("validation_failed" needs 17).
    for table, name in (("artifacts", "artifact_kind"), ("drifts", "drift_kind")):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("kind", type_=_kind(24, name), existing_type=_kind(16, name),
                               existing_nullable=False)
    with op.batch_alter_table("module_versions") as batch:
        batch.alter_column("state", type_=STATE, existing_type=OLD_STATE, existing_nullable=False)
        batch.add_column(sa.Column("redistributable", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("validation_note", sa.Text(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE module_versions SET updated_at = created_at")
    with op.batch_alter_table("module_versions") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)
    with op.batch_alter_table("license_files") as batch:
        batch.alter_column("spdx_id", type_=sa.String(255), existing_type=sa.String(64),
                           existing_nullable=True)

    op.create_table(
        "build_list_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("member_version", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["module_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "path", name="uq_build_list_path"),
    )
    op.create_index("ix_build_list_member", "build_list_members", ["path", "member_version"])

    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=512), nullable=False),
        sa.Column("query", sa.String(length=255), nullable=False),
        sa.Column("source", sa.Enum("api", "miss", "seed", "cli", name="request_source",
                                    native_enum=False, length=24), nullable=False),
        sa.Column("state", sa.Enum("queued", "resolved", "rejected", "failed",
                                   name="request_state", native_enum=False, length=24),
                  nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["module_versions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_open_request", "requests", ["module", "query"], unique=True,
        sqlite_where=sa.text("is_open"), postgresql_where=sa.text("is_open"),
    )
    op.create_index("ix_requests_wish", "requests", ["module", "query"])
    op.create_index("ix_requests_version", "requests", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_requests_version", table_name="requests")
    op.drop_index("ix_requests_wish", table_name="requests")
    op.drop_index("uq_open_request", table_name="requests")
    op.drop_table("requests")
    op.drop_index("ix_build_list_member", table_name="build_list_members")
    op.drop_table("build_list_members")
    with op.batch_alter_table("license_files") as batch:
        batch.alter_column("spdx_id", type_=sa.String(64), existing_type=sa.String(255),
                           existing_nullable=True)
    # Versions in states the old schema does not know go back to where they can restart.
    op.execute(
        "UPDATE module_versions SET state = 'pending' "
        "WHERE state IN ('fetching', 'processing', 'validating', 'blocked')"
    )
    op.execute("UPDATE module_versions SET state = 'failed' WHERE state = 'validation_failed'")
    with op.batch_alter_table("module_versions") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("validation_note")
        batch.drop_column("redistributable")
        batch.alter_column("state", type_=OLD_STATE, existing_type=STATE, existing_nullable=False)
    for table, name in (("artifacts", "artifact_kind"), ("drifts", "drift_kind")):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("kind", type_=_kind(16, name), existing_type=_kind(24, name),
                               existing_nullable=False)
