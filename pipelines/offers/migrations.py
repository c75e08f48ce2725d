"""Schema migrations of the aggregator database: numbered SQL files, each applied once."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg2
from connector_kit.logs import kv

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
LOCK_ID = 7_460_301  # pg advisory lock: two runners never migrate at once
log = logging.getLogger("pipelines.offers.migrations")


def migrate(database_url: str) -> list[str]:
    """Apply the SQL files not applied yet, in name order, each in its own transaction."""
    applied_now = []
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            with conn, conn.cursor() as cur:
                cur.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (path.stem,))
                if cur.fetchone():
                    continue
                cur.execute(path.read_text(encoding="utf-8"))
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
            applied_now.append(path.stem)
            log.info("migration applied %s", kv(version=path.stem))
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    finally:
        conn.close()
    return applied_now
