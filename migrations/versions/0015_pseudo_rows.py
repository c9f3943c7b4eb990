"""module_versions.is_pseudo set for rows created before capture described them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A version row made pending (a build list's pseudo-version, say) kept is_pseudo false
until capture described it; one that failed first was listed under "Tagged versions".
New rows take it from their version string (app/models.py); this sets it on old ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.gomod.versions import is_pseudo

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROWS = sa.table("module_versions", sa.column("id", sa.Integer),
                sa.column("version", sa.String), sa.column("is_pseudo", sa.Boolean))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(ROWS.c.id, ROWS.c.version)
                        .where(ROWS.c.is_pseudo.is_(False))).all()
    ids = [r.id for r in rows if is_pseudo(r.version)]
    for start in range(0, len(ids), 500):
        bind.execute(sa.update(ROWS).where(ROWS.c.id.in_(ids[start:start + 500]))
                     .values(is_pseudo=True))


def downgrade() -> None:
    """Nothing to undo: the column keeps its meaning."""
