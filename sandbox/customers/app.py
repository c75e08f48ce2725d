"""Customer mock API (docs/customers.md) on loopback: `python -m sandbox.customers.app --port N`.

Data comes from data/customers.json (25 customers), or `--customers N` / CUSTOMERS_GENERATE=N
generates N for benchmarks. `/_sandbox/...` endpoints let tests change a customer and inject
5xx faults; they are not part of the real API.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import threading
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from sandbox.customers import DATA_FILE, generate, load
from sandbox.settings import configured_port

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
log = logging.getLogger("sandbox.customers")


def create_app(customers: list[dict[str, Any]]) -> Flask:
    app = Flask("customers")
    original = [dict(c) for c in customers]
    state: dict[str, Any] = {
        "rows": [dict(c) for c in original],
        "fail_next": 0,
        "fail_status": 503,
        "requests": 0,
    }
    lock = threading.Lock()

    def index() -> dict[str, int]:
        return {row["customer_id"]: i for i, row in enumerate(state["rows"])}

    def int_arg(name: str, default: int) -> int | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            return None

    @app.get("/api/health")
    def health() -> Any:
        return jsonify({"status": "healthy", "customers": len(state["rows"])})

    @app.before_request
    def count_and_fail() -> Any:
        if not request.path.startswith("/api/customers"):
            return None
        with lock:
            state["requests"] += 1
            if state["fail_next"] > 0:
                state["fail_next"] -= 1
                return jsonify({"error": "injected fault"}), state["fail_status"]
        return None

    @app.get("/api/customers")
    def list_customers() -> Any:
        page, limit = int_arg("page", 1), int_arg("limit", DEFAULT_LIMIT)
        if page is None or limit is None or page < 1 or limit < 1:
            return jsonify({"error": "page and limit must be positive integers"}), 400
        limit = min(limit, MAX_LIMIT)
        rows = state["rows"]
        start = (page - 1) * limit
        return jsonify(
            {
                "data": rows[start : start + limit],
                "total": len(rows),
                "page": page,
                "limit": limit,
                "total_pages": math.ceil(len(rows) / limit),
            }
        )

    @app.get("/api/customers/<customer_id>")
    def get_customer(customer_id: str) -> Any:
        position = index().get(customer_id)
        if position is None:
            return jsonify({"error": "Customer not found"}), 404
        return jsonify({"data": state["rows"][position]})

    @app.put("/_sandbox/customers/<customer_id>")
    def put_customer(customer_id: str) -> Any:
        """Change fields of a customer, or add it: how tests simulate an update at the source."""
        body = request.get_json(silent=True) or {}
        with lock:
            position = index().get(customer_id)
            if position is None:
                state["rows"].append({"customer_id": customer_id, **body})
                return jsonify(state["rows"][-1]), 201
            state["rows"][position].update(body)
            return jsonify(state["rows"][position])

    @app.put("/_sandbox/faults")
    def faults() -> Any:
        """`{"fail_next": n, "status": 503}`: the next n customer requests fail with that status."""
        body = request.get_json(silent=True) or {}
        with lock:
            state["fail_next"] = int(body.get("fail_next", 0))
            state["fail_status"] = int(body.get("status", 503))
        return jsonify({"fail_next": state["fail_next"], "status": state["fail_status"]})

    @app.get("/_sandbox/stats")
    def stats() -> Any:
        return jsonify({"requests": state["requests"], "customers": len(state["rows"])})

    @app.post("/_sandbox/reset")
    def reset() -> Any:
        with lock:
            state.update(rows=[dict(c) for c in original], fail_next=0, requests=0)
        return jsonify({"customers": len(state["rows"])})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Customer mock API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=configured_port("customers"))
    parser.add_argument("--data", type=Path, default=DATA_FILE, help="JSON file with the customers")
    parser.add_argument(
        "--customers",
        type=int,
        default=int(os.environ.get("CUSTOMERS_GENERATE", "0")),
        help="generate this many customers instead of reading --data",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    customers = generate(args.customers) if args.customers else load(args.data)
    server = make_server(args.host, args.port, create_app(customers), threaded=True)
    log.warning("customers listening on %s:%s customers=%d", args.host, args.port, len(customers))
    server.serve_forever()


if __name__ == "__main__":
    main()
