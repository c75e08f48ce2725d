"""The durable job queue: procrastinate's schema (procrastinate_jobs, _events, ...).

Its SQL comes from the installed procrastinate (SchemaManager.get_schema); a later upgrade of
procrastinate that changes the schema adds a revision applying its migration files.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Straight to the driver: the SQL holds `%` and `:name`-looking text that neither
    # SQLAlchemy's text() nor a parameterised execute may rewrite.
    driver = op.get_bind().connection.dbapi_connection
    assert driver is not None
    cursor = driver.cursor()
    cursor.execute(SchemaManager.get_schema())
    cursor.close()


def downgrade() -> None:
    for table in ("events", "periodic_defers", "jobs", "workers"):
        op.execute(f"DROP TABLE IF EXISTS procrastinate_{table} CASCADE")
