"""The schema of the service's database: one Alembic history (customers, products, offers).

Applied at service start and by the offers pipeline before it writes: `upgrade(url)`. From the
shell: `alembic -c service/alembic.ini upgrade head` (DATABASE_URL from the environment).
A database made by the old hand-made runner (`schema_migrations`) upgrades in place.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent
LOCK_ID = 7_460_301  # pg advisory lock (the old runner's key): one upgrade at a time
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url  # not in the ini: no %-interpolation
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`; concurrent callers wait for each other."""
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    from sqlalchemy import create_engine, pool, text

    from service.core.config import database_url as normalise

    engine = create_engine(normalise(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
                return None
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()
