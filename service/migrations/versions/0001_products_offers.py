"""Products and their cached offers, as the offers pipeline's old runner created them.

`IF NOT EXISTS`: a database made by that runner (its `001_products_offers.sql`) already has
both tables, and this revision leaves them as they are.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS products (
            id            uuid PRIMARY KEY,
            name          text NOT NULL,
            description   text,
            registered_at timestamptz
        );
        CREATE TABLE IF NOT EXISTS offers (
            product_id     uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
            id             uuid NOT NULL,
            price          integer NOT NULL,
            items_in_stock integer NOT NULL,
            synced_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (product_id, id)
        );
        """
    )


def downgrade() -> None:
    op.drop_table("offers")
    op.drop_table("products")
