"""package docs: each version's packages documented once (app/pkgdoc), and their imports

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Package pages show what the Go toolchain's go/doc reads from a version's zip; a
``docs`` job makes it at publication and keeps it here. Existing versions get theirs
at their first view (or `flask --app app docs`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _version_id() -> sa.Column:
    return sa.Column("version_id", sa.Integer(),
                     sa.ForeignKey("module_versions.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "version_docs",
        sa.Column("version_id", sa.Integer(),
                  sa.ForeignKey("module_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("renderer", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("goos", sa.String(32), nullable=False),
        sa.Column("goarch", sa.String(32), nullable=False),
        sa.Column("go_version", sa.String(64), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "package_docs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _version_id(),
        sa.Column("subpath", sa.String(1024), nullable=False),
        sa.Column("import_path", sa.String(1536), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("synopsis", sa.Text(), nullable=False),
        sa.Column("command", sa.Boolean(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("version_id", "subpath", name="uq_package_doc"),
    )
    op.create_table(
        "package_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        _version_id(),
        sa.Column("importer", sa.String(1536), nullable=False),
        sa.Column("imported", sa.String(1536), nullable=False),
    )
    op.create_index("ix_package_imports_imported", "package_imports", ["imported"])
    op.create_index("ix_package_imports_version", "package_imports", ["version_id", "importer"])


def downgrade() -> None:
    op.drop_table("package_imports")
    op.drop_table("package_docs")
    op.drop_table("version_docs")
