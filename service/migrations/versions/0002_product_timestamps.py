"""Product CRUD: created_at and updated_at; the old runner's ledger goes (Alembic's replaces it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("created_at", "updated_at"):
        op.add_column(
            "products",
            sa.Column(
                column, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
            ),
        )
    op.execute("DROP TABLE IF EXISTS schema_migrations")


def downgrade() -> None:
    op.drop_column("products", "updated_at")
    op.drop_column("products", "created_at")
