"""The records each pipeline run started by the service loaded (read by /metrics).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pipeline_runs (
            id           bigserial PRIMARY KEY,
            pipeline     text NOT NULL,          -- customers, offers, partner_feeds
            records      bigint NOT NULL,        -- records the run loaded
            finished_at  timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.drop_table("pipeline_runs")
