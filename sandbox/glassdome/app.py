"""Glassdome API stand-in (its contract: docs/glassdome.md), backed by the real glassdome Postgres database.

Fault mode (for reliability tests) comes from GLASSDOME_FAULTS, CLI flags, or
PUT /_sandbox/faults at run time: error, throttle, drop, drop_after, latency_ms, retry_after,
hold_after.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import psycopg2.pool
from flask import Flask, Response, g, jsonify, request
from werkzeug.serving import make_server

from sandbox.settings import GLASSDOME_API_KEYS, configured_port

HERE = Path(__file__).parent
SEED_PRODUCT = ("MAT-1001", "company_1", "SKU-ALPHA", "ACTIVE")
log = logging.getLogger("sandbox.glassdome")


@dataclass
class Faults:
    """Fractions of requests that fail, and how."""

    error: float = 0.0  # 5xx before touching the database
    throttle: float = 0.0  # 429 with Retry-After
    drop: float = 0.0  # connection closed before the request is processed
    drop_after: float = 0.0  # connection closed after the write was committed
    latency_ms: int = 0  # added to every API request
    retry_after: float = 1.0  # seconds, sent with 429
    # Writes wait while the company holds at least this many products (0: off), until the
    # faults are changed: a test can stop a client mid-run at a known point.
    hold_after: int = 0

    @classmethod
    def parse(cls, text: str | None) -> Faults:
        """Parse `error=0.2,throttle=0.05,drop=0.05,latency_ms=10`."""
        faults = cls()
        names = {f.name: f.type for f in fields(cls)}
        for part in filter(None, (text or "").replace(" ", "").split(",")):
            key, _, value = part.partition("=")
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(names)}")
            setattr(
                faults, key, int(value) if key in {"latency_ms", "hold_after"} else float(value)
            )
        return faults


def init_db(url: str) -> None:
    """Create the schema and the seed rows (API keys, MAT-1001)."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute((HERE / "schema.sql").read_text())
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO api_keys (api_key, company_id) VALUES %s ON CONFLICT DO NOTHING",
            list(GLASSDOME_API_KEYS.items()),
        )
        cur.execute(
            "INSERT INTO products (external_id, company_id, sku, status) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            SEED_PRODUCT,
        )
    conn.close()


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _drop_connection() -> None:
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


def create_app(database_url: str, faults: Faults | None = None, seed: int | None = None) -> Flask:
    app = Flask("glassdome")
    pool = psycopg2.pool.ThreadedConnectionPool(1, 32, database_url)
    state = {"faults": faults or Faults()}
    rng = random.Random(seed)
    rng_lock = threading.Lock()

    def roll(rate: float) -> bool:
        if rate <= 0:
            return False
        with rng_lock:
            return rng.random() < rate

    @contextmanager
    def transaction() -> Iterator[Any]:
        conn = pool.getconn()
        broken = False
        try:
            with conn, conn.cursor() as cur:
                yield cur
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True  # a dead connection is dropped, not handed out again
            raise
        finally:
            pool.putconn(conn, close=broken or conn.closed != 0)

    @app.get("/health")
    def health() -> Any:
        try:
            with transaction() as cur:
                cur.execute("SELECT 1")
        except psycopg2.Error:
            return jsonify({"status": "error", "error": "database unavailable"}), 500
        return jsonify({"status": "ok"})

    @app.route("/_sandbox/faults", methods=["GET", "PUT"])
    def fault_settings() -> Any:
        if request.method == "PUT":
            body = request.get_json(silent=True) or {}
            try:
                state["faults"] = Faults(**{**asdict(Faults()), **body})
            except TypeError as exc:
                return _error(str(exc), 400)
        return jsonify(asdict(state["faults"]))

    @app.before_request
    def authenticate_and_inject_faults() -> Any:
        if request.path == "/health" or request.path.startswith("/_sandbox/"):
            return None
        key = request.headers.get("X-API-Key", "")
        with transaction() as cur:
            cur.execute("SELECT company_id FROM api_keys WHERE api_key = %s", (key,))
            row = cur.fetchone()
        if row is None:
            return _error("Unauthorized: invalid or missing X-API-Key", 401)
        g.company_id = row[0]
        current: Faults = state["faults"]
        while request.method in ("POST", "PATCH") and state["faults"].hold_after:
            with transaction() as cur:
                cur.execute("SELECT count(*) FROM products WHERE company_id = %s", (g.company_id,))
                if cur.fetchone()[0] < state["faults"].hold_after:
                    break
            time.sleep(0.05)
        if current.latency_ms:
            time.sleep(current.latency_ms / 1000)
        if roll(current.drop):
            _drop_connection()
            return Response(status=500)
        if roll(current.throttle):
            resp = jsonify({"error": "Too Many Requests"})
            resp.status_code = 429
            resp.headers["Retry-After"] = f"{current.retry_after:g}"
            return resp
        if roll(current.error):
            with rng_lock:
                status = rng.choice((500, 502, 503))
            return _error("injected fault: service temporarily unavailable", status)
        return None

    @app.after_request
    def maybe_drop_after_commit(response: Response) -> Response:
        if (
            request.method in ("POST", "PATCH")
            and response.status_code < 300
            and roll(state["faults"].drop_after)
        ):
            _drop_connection()
        return response

    @app.post("/ingest/products")
    def ingest_products() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, list):
            return _error("Request body must be a JSON array of products", 400)
        rows = []
        for index, item in enumerate(body):
            missing = [
                f
                for f in ("id", "sku", "status")
                if not isinstance(item, dict) or item.get(f) is None
            ]
            if missing:
                return _error(
                    f"Record at index {index} is missing field(s): {', '.join(missing)}", 400
                )
            rows.append((item["id"], g.company_id, item["sku"], item["status"]))
        try:
            with transaction() as cur:
                psycopg2.extras.execute_values(
                    cur,
                    "INSERT INTO products (external_id, company_id, sku, status) VALUES %s",
                    rows,
                    page_size=1000,
                )
        except psycopg2.Error as exc:
            return _error(str(exc).strip(), 500)
        return jsonify({"inserted": len(rows)}), 201

    @app.patch("/products")
    def patch_products() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, list):
            return _error("Request body must be a JSON array of products", 400)
        rows = []
        for index, item in enumerate(body):
            if not isinstance(item, dict) or item.get("id") is None:
                return _error(f"Record at index {index} is missing field(s): id", 400)
            rows.append((item["id"], item.get("sku"), item.get("status")))
        updated = 0
        try:
            with transaction() as cur:
                for external_id, sku, status in rows:
                    cur.execute(
                        "UPDATE products SET sku = COALESCE(%s, sku), status = COALESCE(%s, status),"
                        " update_time = now() WHERE company_id = %s AND external_id = %s",
                        (sku, status, g.company_id, external_id),
                    )
                    updated += cur.rowcount
        except psycopg2.Error as exc:
            return _error(str(exc).strip(), 500)
        return jsonify({"updated": updated, "skipped": len(rows) - updated})

    @app.get("/products")
    def list_products() -> Any:
        try:
            limit = min(200, max(1, int(request.args.get("limit", 50))))
            offset = max(0, int(request.args.get("offset", 0)))
        except ValueError:
            return _error("limit and offset must be integers", 400)
        include_deleted = request.args.get("include_deleted", "false").lower() in (
            "1",
            "true",
            "yes",
        )
        with transaction() as cur:
            cur.execute(
                "SELECT id, external_id, company_id, sku, status, create_time, update_time, delete_time"
                " FROM products WHERE company_id = %s AND (%s OR delete_time IS NULL)"
                " ORDER BY update_time DESC, id DESC LIMIT %s OFFSET %s",
                (g.company_id, include_deleted, limit, offset),
            )
            columns = [c.name for c in cur.description]
            items = [
                {
                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in zip(columns, row, strict=True)
                }
                for row in cur.fetchall()
            ]
        return jsonify({"items": items, "limit": limit, "offset": offset})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Glassdome API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=configured_port("glassdome"))
    parser.add_argument("--database-url", default=os.environ.get("GLASSDOME_DATABASE_URL"))
    parser.add_argument(
        "--faults",
        default=os.environ.get("GLASSDOME_FAULTS", ""),
        help="e.g. error=0.2,throttle=0.05",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for fault injection")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    init_db(args.database_url)
    app = create_app(args.database_url, Faults.parse(args.faults), args.seed)
    server = make_server(args.host, args.port, app, threaded=True)
    log.warning(
        "glassdome listening on %s:%s faults=%s",
        args.host,
        args.port,
        json.dumps(asdict(Faults.parse(args.faults))),
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
