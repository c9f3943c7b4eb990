"""publication index: the catalogue's fingerprint without a scan of the versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_module_versions_published", "module_versions",
                    ["state", "published_at"])


def downgrade() -> None:
    op.drop_index("ix_module_versions_published", table_name="module_versions")
