"""Offers service stand-in (docs/offers.md): `python -m sandbox.offers.app --port N`.

The public contract: refresh token -> one access token at a time (5 min, shorter with
--token-lifetime / OFFERS_TOKEN_LIFETIME_S), header `Bearer: <token>`, product registration, and
offers that appear, change and vanish between calls. The churn is driven by a seeded RNG per
(product, call number), so a run is reproducible. `/_sandbox/...` endpoints (not part of the real
API) let tests script offers, inject a failing product and change the token lifetime.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from sandbox.settings import OFFERS_REFRESH_TOKEN, configured_port

DEFAULT_REFRESH_TOKEN = OFFERS_REFRESH_TOKEN
log = logging.getLogger("sandbox.offers")


@dataclass
class Settings:
    token_lifetime_s: float = 300.0
    latency_ms: int = 0  # added to every product call, so a run can outlive a short token
    # The product call after this many offers calls is held until its access token has
    # expired (0: off): a token expires mid-run at a known point, without a latency race.
    outlive_token_after: int = 0
    churn: bool = True  # offers evolve between calls (products with scripted offers never do)
    seed: int = 7


@dataclass
class Product:
    id: str
    name: str
    description: str | None
    offers: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    scripted: bool = False  # offers set by a test: no churn
    fault: int | None = None  # HTTP status every offers call gets


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _offer(rng: random.Random) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "price": rng.randrange(100, 100_000),
        "items_in_stock": rng.randrange(0, 500),
    }


def evolve(offers: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Between two calls: some offers vanish, some change price or stock, one may appear."""
    result = []
    for offer in offers:
        roll = rng.random()
        if roll < 0.15:
            continue
        if roll < 0.55:
            offer = {  # noqa: PLW2901  (the changed offer replaces the old one)
                **offer,
                "price": max(1, offer["price"] + rng.randrange(-500, 500)),
                "items_in_stock": rng.randrange(0, 500),
            }
        result.append(offer)
    if rng.random() < 0.4 or not result:
        result.append(_offer(rng))
    return result


def create_app(
    refresh_tokens: set[str], settings: Settings | None = None, state_file: Path | None = None
) -> Flask:
    app = Flask("offers")
    startup = settings or Settings()
    signing_key = secrets.token_bytes(32)
    lock = threading.Lock()
    st: dict[str, Any] = {}

    def reset() -> None:
        st.update(
            settings=Settings(**asdict(startup)),
            products={},
            token=None,
            expires=0.0,
            stats={"tokens_issued": 0, "tokens_refused": 0, "unauthorized": 0, "offers_calls": 0},
            outlived=False,
        )

    def save() -> None:
        if state_file is not None:
            registered = [
                {"id": p.id, "name": p.name, "description": p.description}
                for p in st["products"].values()
            ]
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps(registered))

    def register(product_id: str, name: str, description: str | None) -> Product:
        rng = random.Random(f"{st['settings'].seed}:{product_id}:0")
        product = Product(
            product_id, name, description, [_offer(rng) for _ in range(rng.randrange(2, 6))]
        )
        st["products"][product_id] = product
        return product

    reset()
    if state_file is not None and state_file.exists():  # registrations survive a restart
        for row in json.loads(state_file.read_text()):
            register(row["id"], row["name"], row.get("description"))

    def issue_token() -> str:
        lifetime = st["settings"].token_lifetime_s
        payload = {"sub": "sandbox", "jti": uuid.uuid4().hex, "exp": time.time() + lifetime}
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload).encode())
        sig = _b64(hmac.new(signing_key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        st["token"], st["expires"] = f"{head}.{body}.{sig}", payload["exp"]
        return str(st["token"])

    def token_valid(token: str | None) -> bool:
        return (
            bool(token)
            and hmac.compare_digest(token or "", st["token"] or "")
            and time.time() < st["expires"]
        )

    def detail(message: str, status: int) -> tuple[Any, int]:
        return jsonify({"detail": message}), status

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok"})

    @app.post("/api/v1/auth")
    def auth() -> Any:
        with lock:
            if request.headers.get("Bearer", "") not in refresh_tokens:
                st["stats"]["unauthorized"] += 1
                return detail("Invalid refresh token", 401)
            if st["token"] and time.time() < st["expires"]:
                st["stats"]["tokens_refused"] += 1
                return detail("Cannot generate access token because another is valid", 400)
            st["stats"]["tokens_issued"] += 1
            return jsonify({"access_token": issue_token()}), 201

    @app.before_request
    def authenticate() -> Any:
        if not request.path.startswith("/api/v1/products"):
            return None
        latency = st["settings"].latency_ms
        if latency:  # before the token check: a token can expire while a request is on its way
            time.sleep(latency / 1000)
        with lock:
            after = st["settings"].outlive_token_after
            outlive = bool(after) and not st["outlived"] and st["stats"]["offers_calls"] >= after
            st["outlived"] = st["outlived"] or outlive
            expires = st["expires"]
        while outlive and time.time() <= expires:  # this request outlives its token
            time.sleep(0.02)
        with lock:
            if not token_valid(request.headers.get("Bearer")):
                st["stats"]["unauthorized"] += 1
                return detail("Access token invalid", 401)
        return None

    @app.post("/api/v1/products/register")
    def register_product() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("name"):
            return detail("body must be {id, name, description}", 400)
        try:
            product_id = str(uuid.UUID(str(body.get("id"))))
        except ValueError:
            return detail("id must be a uuid", 400)
        with lock:
            if product_id in st["products"]:
                return detail("Product already registered", 409)
            register(product_id, str(body["name"]), body.get("description"))
            save()
        return jsonify({"id": product_id}), 201

    @app.get("/api/v1/products/<product_id>/offers")
    def offers(product_id: str) -> Any:
        with lock:
            st["stats"]["offers_calls"] += 1
            product: Product | None = st["products"].get(product_id)
            if product is None:
                return detail("Product not found", 404)
            if product.fault:
                return detail("injected fault", product.fault)
            product.calls += 1
            if st["settings"].churn and not product.scripted and product.calls > 1:
                product.offers = evolve(
                    product.offers,
                    random.Random(f"{st['settings'].seed}:{product_id}:{product.calls}"),
                )
            return jsonify(product.offers)

    # ---- sandbox controls (not part of the real service) ----
    def known(product_id: str) -> Product | tuple[Any, int]:
        product = st["products"].get(product_id)
        return product if product is not None else detail("Product not found", 404)

    @app.route("/_sandbox/products/<product_id>/offers", methods=["GET", "PUT"])
    def scripted_offers(product_id: str) -> Any:
        """GET: current offers without advancing the churn. PUT a list: these offers from now on."""
        with lock:
            product = known(product_id)
            if not isinstance(product, Product):
                return product
            if request.method == "PUT":
                product.offers, product.scripted = list(request.get_json()), True
            return jsonify(product.offers)

    @app.route("/_sandbox/products/<product_id>/fault", methods=["PUT", "DELETE"])
    def fault(product_id: str) -> Any:
        """PUT {"status": 503}: every offers call of this product fails so; DELETE heals it."""
        with lock:
            product = known(product_id)
            if not isinstance(product, Product):
                return product
            product.fault = (
                None
                if request.method == "DELETE"
                else int((request.get_json() or {}).get("status", 503))
            )
            return jsonify({"status": product.fault})

    @app.route("/_sandbox/settings", methods=["GET", "PUT"])
    def sandbox_settings() -> Any:
        with lock:
            if request.method == "PUT":
                st["settings"] = Settings(
                    **{**asdict(st["settings"]), **(request.get_json() or {})}
                )
            return jsonify(asdict(st["settings"]))

    @app.get("/_sandbox/stats")
    def stats() -> Any:
        with lock:
            return jsonify({**st["stats"], "registered": sorted(st["products"])})

    @app.post("/_sandbox/tokens/expire")
    def expire_token() -> Any:
        with lock:
            st["expires"] = 0.0
        return jsonify({"expired": True})

    @app.post("/_sandbox/reset")
    def reset_all() -> Any:
        """Forget registrations, tokens, faults and stats; settings back to startup values."""
        with lock:
            reset()
            save()
        return jsonify({"reset": True})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Offers service stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=configured_port("offers"))
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=float(os.environ.get("OFFERS_TOKEN_LIFETIME_S", "300")),
        help="access token lifetime in seconds (5 minutes like the real service)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("OFFERS_SEED", "7")),
        help="seed of the offer churn",
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="registrations kept across restarts (default $SANDBOX_DIR/offers/registered.json)",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    state_file = args.state_file
    if state_file is None and os.environ.get("SANDBOX_DIR"):
        state_file = Path(os.environ["SANDBOX_DIR"]) / "offers" / "registered.json"
    refresh = os.environ.get("OFFERS_REFRESH_TOKEN") or DEFAULT_REFRESH_TOKEN
    app = create_app(
        {refresh}, Settings(token_lifetime_s=args.token_lifetime, seed=args.seed), state_file
    )
    server = make_server(args.host, args.port, app, threaded=True)
    log.warning(
        "offers listening on %s:%s token_lifetime_s=%g", args.host, args.port, args.token_lifetime
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
