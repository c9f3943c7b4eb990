"""upstream drift alarm: drift_checks, a ``gone`` drift kind, h1 hashes on drifts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Every re-fetch of a published version is recorded in ``drift_checks`` (same, differs,
gone, error); a deleted upstream is a drift row of kind ``gone``. Enums are text with
a CHECK, so both SQLite and PostgreSQL change them by a batch alter.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KIND = sa.Enum("info", "mod", "zip", "gone", name="drift_kind", native_enum=False, length=24)
OLD_KIND = sa.Enum("info", "mod", "zip", name="drift_kind", native_enum=False, length=24)
OUTCOME = sa.Enum("same", "differs", "gone", "error", name="drift_outcome",
                  native_enum=False, length=24)


def upgrade() -> None:
    with op.batch_alter_table("drifts") as batch:
        batch.alter_column("kind", type_=KIND, existing_type=OLD_KIND, existing_nullable=False)
        batch.add_column(sa.Column("stored_h1", sa.String(64), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("upstream_h1", sa.String(64), nullable=False,
                                   server_default=""))
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", OUTCOME, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["module_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drift_checks_version", "drift_checks", ["version_id", "checked_at"])


def downgrade() -> None:
    op.drop_index("ix_drift_checks_version", table_name="drift_checks")
    op.drop_table("drift_checks")
    # A ``gone`` row cannot be said in the old vocabulary: it goes with the table's meaning.
    op.execute("DELETE FROM drifts WHERE kind = 'gone'")
    with op.batch_alter_table("drifts") as batch:
        batch.drop_column("upstream_h1")
        batch.drop_column("stored_h1")
        batch.alter_column("kind", type_=OLD_KIND, existing_type=KIND, existing_nullable=False)
