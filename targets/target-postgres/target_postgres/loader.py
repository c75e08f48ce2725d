"""One batch into one table, in one transaction: COPY, then one INSERT ... ON CONFLICT.

The fast path copies straight into the target while it has only seen new keys: a PK
conflict raises, the savepoint is rolled back, and that batch (and the rest of the run)
goes through the staging table instead, so the result is always the upsert's result.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extensions import connection as Connection

from target_postgres.staging import Source
from target_postgres.table import TargetTable

logger = logging.getLogger(__name__)

UPSERT, APPEND, OVERWRITE = "upsert", "append-only", "overwrite"


@dataclass
class LoadPlan:
    """How a stream is written; fixed for the life of a sink."""

    table: TargetTable
    key: list[str]
    method: str = UPSERT
    hard_delete: bool = False
    deleted_columns: list[str] = field(default_factory=list)  # non-null marks a deleted record
    try_direct: bool = False  # target started empty: COPY straight in until a key repeats
    truncate_first: bool = False  # overwrite: emptied inside the first batch's transaction


@dataclass
class LoadResult:
    rows: int  # rows in the batch
    path: str
    inserted: int = 0
    updated: int = 0  # existing rows whose values changed; the rest of the batch was unchanged


def _ident_list(names: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _copy(cur: Any, target: sql.Composable, columns: list[str], source: Source) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH ({})").format(
        target, _ident_list(columns), sql.SQL(source.copy_options)
    )
    with source.open() as stream:
        cur.copy_expert(statement, stream, size=1 << 20)
    return int(cur.rowcount)


def _direct_ok(plan: LoadPlan, source: Source) -> bool:
    if source.is_json_lines or source.constants or source.mirror or plan.hard_delete:
        return False
    return plan.method == APPEND or not plan.key or plan.try_direct


def load(conn: Connection, plan: LoadPlan, source: Source) -> LoadResult:
    """Write one batch; commits on success, rolls back (and re-raises) on failure."""
    try:
        with conn.cursor() as cur:
            if plan.truncate_first:
                cur.execute(sql.SQL("TRUNCATE {}").format(plan.table.ident))
            result = None
            if _direct_ok(plan, source):
                result = _load_direct(cur, plan, source)
            if result is None:
                result = _load_staged(cur, plan, source)
        conn.commit()
    except BaseException:
        with contextlib.suppress(psycopg2.Error):  # a dropped connection cannot roll back
            conn.rollback()
        raise
    plan.truncate_first = False
    return result


def _load_direct(cur: Any, plan: LoadPlan, source: Source) -> LoadResult | None:
    if plan.method == APPEND or not plan.key:
        rows = _copy(cur, plan.table.ident, source.columns, source)
        return LoadResult(rows, "copy", inserted=rows)
    cur.execute("SAVEPOINT direct_copy")
    try:
        rows = _copy(cur, plan.table.ident, source.columns, source)
    except errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT direct_copy")
        plan.try_direct = False
        logger.info("event=direct_copy_off table=%s reason=existing_keys", plan.table.display)
        return None
    cur.execute("RELEASE SAVEPOINT direct_copy")
    return LoadResult(rows, "copy", inserted=rows)


def _select(
    plan: LoadPlan, source: Source, columns: list[str]
) -> tuple[sql.Composable, sql.Composable]:
    """(select list, FROM clause) reading the staged batch as typed target columns."""
    if source.is_json_lines:
        props = source.props or {}
        definitions = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(props[c]), sql.SQL(plan.table.columns[c]))
            for c in source.columns
        )
        from_clause = sql.SQL("pg_temp.batch_stage s, json_to_record(s.j) AS r({})").format(
            definitions
        )
        row = {c: sql.SQL("r.{}").format(sql.Identifier(props[c])) for c in source.columns}
    else:
        from_clause = sql.SQL("pg_temp.batch_stage s")
        row = {c: sql.SQL("s.{}").format(sql.Identifier(c)) for c in source.columns}
    for name, origin in source.mirror.items():
        if origin in row:
            row.setdefault(name, row[origin])
    for name, value in source.constants.items():
        row.setdefault(
            name, sql.SQL("{}::{}").format(sql.Literal(value), sql.SQL(plan.table.columns[name]))
        )
    return sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(row[c], sql.Identifier(c)) for c in columns
    ), from_clause


def _deleted_condition(plan: LoadPlan, columns: list[str]) -> sql.Composable | None:
    marks = [c for c in plan.deleted_columns if c in columns]
    if not marks:
        return None
    return sql.SQL(" OR ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in marks)


def _load_staged(cur: Any, plan: LoadPlan, source: Source) -> LoadResult:
    table = plan.table
    if source.is_json_lines:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS batch_stage (j json) ON COMMIT DROP")
        staged = _copy(cur, sql.SQL("pg_temp.batch_stage"), ["j"], source)
    else:
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE batch_stage ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
            ).format(_ident_list(source.columns), table.ident)
        )
        staged = _copy(cur, sql.SQL("pg_temp.batch_stage"), source.columns, source)
    mirrored = [c for c, origin in source.mirror.items() if origin in source.columns]
    columns = list(dict.fromkeys([*source.columns, *mirrored, *source.constants]))
    select_list, from_clause = _select(plan, source, columns)
    where = sql.SQL("WHERE s.j IS NOT NULL") if source.is_json_lines else sql.SQL("")
    upsert = plan.method != APPEND and bool(plan.key)
    deleted = _deleted_condition(plan, columns)
    # with hard_delete, deleted records are removed below instead of being written
    query = sql.SQL("SELECT {} FROM {} {}").format(select_list, from_clause, where)
    values = [c for c in columns if c not in plan.key]
    if upsert:
        # an existing row is rewritten only when a value differs: a re-read row is unchanged
        conflict = sql.SQL(" ON CONFLICT ({}) DO {}").format(
            _ident_list(plan.key),
            sql.SQL("UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})").format(
                sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in values
                ),
                sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in values),
                sql.SQL(", ").join(
                    sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in values
                ),
            )
            if values
            else sql.SQL("NOTHING"),
        )
    else:
        conflict = sql.SQL("")

    def insert(distinct: bool) -> tuple[int, int]:
        """(inserted, written): xmax = 0 marks a row this statement inserted, not updated."""
        body = query
        if distinct:
            # last occurrence of a key in the batch wins (the staging heap keeps arrival order)
            body = sql.SQL(
                "SELECT DISTINCT ON ({k}) * FROM (SELECT {sel}, s.ctid AS _arrival FROM {f} {w}) b"
                " ORDER BY {k}, _arrival DESC"
            ).format(k=_ident_list(plan.key), sel=select_list, f=from_clause, w=where)
            body = sql.SQL("SELECT {} FROM ({}) d").format(_ident_list(columns), body)
        if plan.hard_delete and deleted is not None:
            body = sql.SQL("SELECT * FROM ({}) live WHERE NOT ({})").format(body, deleted)
        cur.execute(
            sql.SQL(
                "WITH written AS (INSERT INTO {} AS t ({}) {}{} RETURNING (t.xmax = 0) AS new)"
                " SELECT count(*) FILTER (WHERE new), count(*) FROM written"
            ).format(table.ident, _ident_list(columns), body, conflict)
        )
        inserted, written = cur.fetchone()
        return int(inserted), int(written)

    if upsert:
        cur.execute("SAVEPOINT merge_batch")
        try:
            inserted, written = insert(distinct=False)
            cur.execute("RELEASE SAVEPOINT merge_batch")
        except errors.CardinalityViolation:
            cur.execute("ROLLBACK TO SAVEPOINT merge_batch")
            inserted, written = insert(distinct=True)
    else:
        inserted, written = insert(distinct=False)
    if plan.hard_delete and deleted is not None and plan.key:
        _hard_delete(cur, plan, query, deleted)
    return LoadResult(staged, "staged", inserted=inserted, updated=written - inserted)


def _hard_delete(cur: Any, plan: LoadPlan, staged: sql.Composable, deleted: sql.Composable) -> None:
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{0} = d.{0}").format(sql.Identifier(k)) for k in plan.key
    )
    cur.execute(
        sql.SQL("DELETE FROM {} t USING (SELECT * FROM ({}) x WHERE {}) d WHERE {}").format(
            plan.table.ident, staged, deleted, match
        )
    )
    if cur.rowcount:
        logger.info("event=hard_deleted table=%s rows=%d", plan.table.display, cur.rowcount)
