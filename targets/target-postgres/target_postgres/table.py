"""The target table: create it, evolve its columns safely, keep its primary key in step."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from target_postgres.columns import Column, canonical, resolve

logger = logging.getLogger(__name__)


@dataclass
class TargetTable:
    """A table in the warehouse as the loader sees it: columns by name and the key."""

    schema: str
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> canonical sql type
    key: list[str] = field(default_factory=list)

    @property
    def ident(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))

    @property
    def display(self) -> str:
        return f"{self.schema}.{self.name}"


def _read(conn: Connection, schema: str, name: str) -> TargetTable | None:
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
              AND c.relkind IN ('r', 'p')
            ORDER BY a.attnum
            """,
            (schema, name),
        )
        rows = cur.fetchall()
        if not rows:
            return None
        cur.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary ORDER BY k.pos
            """,
            (schema, name),
        )
        key = [r[0] for r in cur.fetchall()]
    return TargetTable(schema, name, {r[0]: canonical(r[1]) for r in rows}, key)


def prepare(
    conn: Connection, schema: str, name: str, columns: list[Column], key: list[str]
) -> TargetTable:
    """Create or evolve the table so it can take `columns`; one transaction, then committed.

    New columns are added, safe widenings applied, nothing is dropped. A key that differs
    from the table's primary key replaces it (the data stays; duplicates would make it fail).
    """
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{schema}.{name}",))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    table = _read(conn, schema, name)
    if table is None:
        table = TargetTable(schema, name, {c.name: canonical(c.sql_type) for c in columns}, key)
        parts = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name),
                sql.SQL(c.sql_type),
                sql.SQL(" NOT NULL" if c.name in key else ""),
            )
            for c in columns
        ]
        if key:
            parts.append(
                sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, key)))
            )
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE TABLE {} ({})").format(table.ident, sql.SQL(", ").join(parts))
            )
        logger.info(
            "event=table_created table=%s columns=%d key=%s",
            table.display,
            len(columns),
            ",".join(key),
        )
        conn.commit()
        return table
    with conn.cursor() as cur:
        for column in columns:
            existing = table.columns.get(column.name)
            if existing is None:
                cur.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                        table.ident, sql.Identifier(column.name), sql.SQL(column.sql_type)
                    )
                )
                table.columns[column.name] = canonical(column.sql_type)
                logger.info(
                    "event=column_added table=%s column=%s type=%s",
                    table.display,
                    column.name,
                    column.sql_type,
                )
                continue
            widened = resolve(table.display, column.name, existing, column.sql_type)
            if widened:
                cur.execute(
                    sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {}").format(
                        table.ident, sql.Identifier(column.name), sql.SQL(widened)
                    )
                )
                table.columns[column.name] = canonical(widened)
                logger.info(
                    "event=column_widened table=%s column=%s from=%s to=%s",
                    table.display,
                    column.name,
                    existing,
                    widened,
                )
        if key and key != table.key:
            cur.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                (f'"{schema}"."{name}"',),
            )
            for (conname,) in cur.fetchall():
                cur.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        table.ident, sql.Identifier(conname)
                    )
                )
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                    table.ident, sql.SQL(", ").join(map(sql.Identifier, key))
                )
            )
            logger.info(
                "event=primary_key_changed table=%s from=%s to=%s",
                table.display,
                ",".join(table.key),
                ",".join(key),
            )
            table.key = list(key)
    conn.commit()
    return table


def ensure_column(conn: Connection, table: TargetTable, name: str, sql_type: str) -> None:
    """Add one bookkeeping column (e.g. _sdc_table_version) if the table lacks it."""
    if name in table.columns:
        return
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                table.ident, sql.Identifier(name), sql.SQL(sql_type)
            )
        )
    conn.commit()
    table.columns[name] = canonical(sql_type)


def is_empty(conn: Connection, table: TargetTable) -> bool:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(table.ident))
        empty = bool(cur.fetchone()[0])
    conn.commit()
    return empty
