"""Fixtures for target-postgres: the sandbox warehouse, one fresh schema per test, a runner."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from target_postgres.target import TargetPostgres

from sandbox.settings import SandboxConfig

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def warehouse_url(sandbox_cfg: SandboxConfig) -> str:
    return sandbox_cfg.postgres_url("warehouse")


@pytest.fixture
def schema(warehouse_url: str) -> Iterator[str]:
    """A schema of its own for each test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    conn.close()


@pytest.fixture
def config(warehouse_url: str, schema: str) -> dict[str, Any]:
    return {"database_url": warehouse_url, "default_target_schema": schema}


def run_target(
    config: dict[str, Any], messages: list[dict[str, Any]] | str
) -> list[dict[str, Any]]:
    """Run the target in-process over Singer messages; returns the STATE values it emitted."""
    text = (
        messages if isinstance(messages, str) else "".join(json.dumps(m) + "\n" for m in messages)
    )
    target = TargetPostgres(config=config, validate_config=True)
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(text))
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def query(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url, options="-c TimeZone=UTC")
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows
    finally:
        conn.close()


def schema_message(stream: str, properties: dict[str, Any], key: list[str]) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": key,
    }


def record(stream: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": values, **extra}
