"""The landing file a polled feed came from (NULL for an HTTP upload).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE partner_uploads ADD COLUMN source_file text")


def downgrade() -> None:
    op.execute("ALTER TABLE partner_uploads DROP COLUMN source_file")
