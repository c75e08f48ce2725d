"""customer_data.customers: the seed's table as the customers dlt pipeline loads it.

The seed's columns and key; the pipeline hands dlt typed Arrow tables, which add no `_dlt_*`
columns, so dlt finds the table complete and merges into it. A table dlt made before (no
primary key) gets its key added.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "customer_data"  # the pipeline's dataset


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(50), primary_key=True),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("address", sa.Text),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("account_balance", sa.Numeric(15, 2)),
        sa.Column("created_at", sa.DateTime(timezone=False)),
        schema=SCHEMA,
        if_not_exists=True,
    )
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM pg_constraint
                WHERE conrelid = '{SCHEMA}.customers'::regclass AND contype = 'p'
            ) THEN
                ALTER TABLE {SCHEMA}.customers ADD PRIMARY KEY (customer_id);
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    op.drop_table("customers", schema=SCHEMA)
