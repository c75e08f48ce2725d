"""Partners with hashed API keys, and every uploaded feed kept raw before it is processed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE partners (
            id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
            name           text NOT NULL,
            key_hash       text UNIQUE,          -- HMAC-SHA256 of the key; NULL once revoked
            created_at     timestamptz NOT NULL DEFAULT now(),
            key_issued_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at     timestamptz
        );
        CREATE TABLE partner_uploads (
            id             bigserial PRIMARY KEY,  -- the job id
            partner_id     text NOT NULL REFERENCES partners (id),
            checksum       text NOT NULL,          -- sha256 of the raw bytes
            content_type   text NOT NULL,
            size_bytes     bigint NOT NULL,
            content        bytea NOT NULL,         -- the feed as received, kept durably
            status         text NOT NULL DEFAULT 'received',
            rows_loaded    integer,
            rows_rejected  integer,
            error          text,
            received_at    timestamptz NOT NULL DEFAULT now(),
            finished_at    timestamptz,
            UNIQUE (partner_id, checksum)
        );
        """
    )


def downgrade() -> None:
    op.drop_table("partner_uploads")
    op.drop_table("partners")
