"""Every attempt of a partner job, with its outcome and error (kept beside the queue's events).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE partner_job_attempts (
            id           bigserial PRIMARY KEY,
            job_id       bigint NOT NULL REFERENCES partner_uploads (id),
            attempt      integer NOT NULL,       -- 1 for the first run of a queue job
            started_at   timestamptz NOT NULL DEFAULT now(),
            finished_at  timestamptz,
            outcome      text,                   -- loaded, failed, pending, error
            error        text                    -- one line
        );
        CREATE INDEX partner_job_attempts_job ON partner_job_attempts (job_id, id);
        """
    )


def downgrade() -> None:
    op.drop_table("partner_job_attempts")
