"""The offers pipeline against the offers stand-in over HTTP and a real aggregator Postgres."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest
import requests

from pipelines.offers.auth import HEADER, RefreshTokenAuth
from pipelines.offers.pipeline import run
from pipelines.offers.sync import SyncSettings, http_session
from sandbox.offers.products import PRODUCTS
from tests.conftest import run_meltano
from tests.offers.conftest import REFRESH_TOKEN, OffersAdmin

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("fast_retries")]
P1, P2, P3, P4, P5 = (p[0] for p in PRODUCTS)


def stored_offers(url: str) -> dict[str, dict[str, tuple[int, int]]]:
    """product id -> {offer id: (price, items_in_stock)} as the aggregator holds them."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT product_id::text, id::text, price, items_in_stock FROM offers")
        rows = cur.fetchall()
    conn.close()
    result: dict[str, dict[str, tuple[int, int]]] = {}
    for product_id, offer_id, price, stock in rows:
        result.setdefault(product_id, {})[offer_id] = (price, stock)
    return result


def served(admin: OffersAdmin, product_id: str) -> dict[str, tuple[int, int]]:
    return {o["id"]: (o["price"], o["items_in_stock"]) for o in admin.offers(product_id)}


def test_registers_products_and_mirrors_offers_through_churn(
    offers_admin: OffersAdmin,
    aggregator_db: str,
    sync_settings: Callable[..., SyncSettings],
    tmp_path: Path,
) -> None:
    for _ in range(3):  # offers appear, change and vanish between calls: each run mirrors them
        outcomes = run(sync_settings(), pipelines_dir_=tmp_path / "p")
        assert [o.status for o in outcomes] == ["ok"] * 5
        assert stored_offers(aggregator_db) == {
            pid: served(offers_admin, pid) for pid, *_ in PRODUCTS
        }
    assert offers_admin.stats()["registered"] == sorted(p[0] for p in PRODUCTS)
    with psycopg2.connect(aggregator_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM products WHERE registered_at IS NULL")
        assert cur.fetchone()[0] == 0
        cur.execute(
            "SELECT count(*), count(DISTINCT _dlt_load_id) FROM offers_sync.offer_syncs"
            " WHERE step = 'offers'"
        )
        assert cur.fetchone() == (15, 3)  # the run log: one row per product per run
    conn.close()


def test_changed_offer_updated_vanished_deleted(
    offers_admin: OffersAdmin,
    aggregator_db: str,
    sync_settings: Callable[..., SyncSettings],
    tmp_path: Path,
) -> None:
    offers_admin.settings(churn=False)
    run(sync_settings(), pipelines_dir_=tmp_path / "p")
    before = stored_offers(aggregator_db)
    kept, *vanished = sorted(before[P1])
    new_id = str(uuid.uuid4())
    offers_admin.script(
        P1,
        [
            {"id": kept, "price": before[P1][kept][0] + 100, "items_in_stock": 3},
            {"id": new_id, "price": 999, "items_in_stock": 1},
        ],
    )
    offers_admin.script(P2, [])  # every offer of P2 vanished

    outcomes = {o.product_id: o for o in run(sync_settings(), pipelines_dir_=tmp_path / "p")}

    after = stored_offers(aggregator_db)
    assert after[P1] == {kept: (before[P1][kept][0] + 100, 3), new_id: (999, 1)}
    assert P2 not in after
    assert after[P3] == before[P3]
    assert (outcomes[P1].inserted, outcomes[P1].updated, outcomes[P1].deleted) == (
        1,
        1,
        len(vanished),
    )
    assert outcomes[P2].deleted == len(before[P2])
    assert outcomes[P3].unchanged == len(before[P3])


def test_failing_products_do_not_stop_the_others(
    offers_admin: OffersAdmin,
    aggregator_db: str,
    sync_settings: Callable[..., SyncSettings],
    tmp_path: Path,
) -> None:
    offers_admin.settings(churn=False)
    run(sync_settings(), pipelines_dir_=tmp_path / "p")
    before = stored_offers(aggregator_db)
    offers_admin.fault(P3, 503)  # 5xx on every attempt
    unknown = str(uuid.uuid4())  # registered here, unknown to the service: 404
    with psycopg2.connect(aggregator_db) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO products (id, name, registered_at) VALUES (%s, 'Ghost', now())", (unknown,)
        )
    conn.close()
    changed = served(offers_admin, P5)
    offers_admin.script(P5, [{"id": oid, "price": 1, "items_in_stock": 0} for oid in changed])

    outcomes = {o.product_id: o for o in run(sync_settings(), pipelines_dir_=tmp_path / "p")}

    assert {pid for pid, o in outcomes.items() if o.status == "failed"} == {P3, unknown}
    assert "503" in (outcomes[P3].error or "")
    assert "404" in (outcomes[unknown].error or "")
    after = stored_offers(aggregator_db)
    assert after[P3] == before[P3]  # the failed product keeps its last good offers
    assert after[P5] == dict.fromkeys(changed, (1, 0))  # a product after the failures was synced
    with psycopg2.connect(aggregator_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT product_id, error FROM offers_sync.offer_syncs WHERE status = 'failed'")
        assert {r[0] for r in cur.fetchall()} == {P3, unknown}
    conn.close()


def test_token_expiry_mid_run_is_survived(
    offers_admin: OffersAdmin,
    aggregator_db: str,
    sync_settings: Callable[..., SyncSettings],
    tmp_path: Path,
) -> None:
    # The service holds the call after the second offers call until its token has expired:
    # the token expires mid-run, whatever the machine's speed.
    offers_admin.settings(token_lifetime_s=1.0, outlive_token_after=2)
    outcomes = run(sync_settings(token_lifetime_s=1.0), pipelines_dir_=tmp_path / "p")
    assert [o.status for o in outcomes] == ["ok"] * 5
    stats = offers_admin.stats()
    assert stats["tokens_issued"] >= 2
    assert stats["tokens_refused"] == 0  # never asked for a token while one was valid


def test_a_401_gets_one_new_token_and_one_retry(
    offers_admin: OffersAdmin, sync_settings: Callable[..., SyncSettings], tmp_path: Path
) -> None:
    run(sync_settings(), pipelines_dir_=tmp_path / "p")  # registers the products
    session = http_session()
    auth = RefreshTokenAuth(
        f"{offers_admin.url}/api/v1/auth",
        REFRESH_TOKEN,
        session,
        cache_file=tmp_path / "access-token.json",
    )
    offers_admin.expire_token()  # the cached token is now refused by the service
    issued = offers_admin.stats()["tokens_issued"]
    response = session.get(f"{offers_admin.url}/api/v1/products/{P1}/offers", auth=auth)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert offers_admin.stats()["tokens_issued"] == issued + 1


def test_one_token_at_a_time_a_second_holder_waits(
    offers_admin: OffersAdmin, tmp_path: Path
) -> None:
    offers_admin.settings(token_lifetime_s=1.0)
    url = f"{offers_admin.url}/api/v1/auth"
    first = requests.post(url, headers={HEADER: REFRESH_TOKEN}, timeout=5)
    assert first.status_code == 201
    assert requests.post(url, headers={HEADER: REFRESH_TOKEN}, timeout=5).status_code == 400
    assert requests.post(url, headers={HEADER: "not-the-token"}, timeout=5).status_code == 401
    other = RefreshTokenAuth(
        url, REFRESH_TOKEN, http_session(), lifetime_s=1.0
    )  # no cache: must wait
    token = other.access_token()
    assert token != first.json()["access_token"]
    assert offers_admin.stats()["tokens_refused"] >= 2


def offers_env(meltano_env: dict[str, str], aggregator_db: str, data_dir: Path) -> dict[str, str]:
    return {
        **meltano_env,
        "AGGREGATOR_DATABASE_URL": aggregator_db,
        "OFFERS_REFRESH_TOKEN": REFRESH_TOKEN,
        "DLT_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "DEBUG",  # the most verbose logs must not show the secret either
        "RUNTIME__LOG_LEVEL": "DEBUG",
    }


def assert_no_secret(output: str, *secrets: str) -> None:
    for secret in (REFRESH_TOKEN, *secrets):
        assert secret not in output


def test_meltano_run_then_info_shows_the_last_run(
    offers_admin: OffersAdmin, aggregator_db: str, meltano_env: dict[str, str], tmp_path: Path
) -> None:
    env = offers_env(meltano_env, aggregator_db, tmp_path / "dlt")
    first = run_meltano("run", "offers", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    info = run_meltano("invoke", "dlt:offers-info", env=env)
    assert "last_run" in info.stdout + info.stderr
    assert_no_secret(first.stdout + first.stderr + info.stdout + info.stderr)


def test_a_failed_product_makes_the_run_exit_non_zero(
    offers_admin: OffersAdmin,
    aggregator_db: str,
    meltano_env: dict[str, str],
    sync_settings: Callable[..., SyncSettings],
    tmp_path: Path,
) -> None:
    env = offers_env(meltano_env, aggregator_db, tmp_path / "dlt")
    run(sync_settings(), pipelines_dir_=tmp_path / "p")  # registers the products
    offers_admin.expire_token()  # the next run gets its own token at once
    offers_admin.fault(P2, 500)
    failed = run_meltano("run", "dlt:offers", env=env)
    assert failed.returncode != 0
    assert "product failed" in failed.stderr
    assert_no_secret(failed.stdout + failed.stderr)


def test_a_wrong_refresh_token_stops_with_one_line_naming_it(
    offers_admin: OffersAdmin, aggregator_db: str, meltano_env: dict[str, str], tmp_path: Path
) -> None:
    wrong = subprocess.run(
        [sys.executable, "-m", "pipelines.offers"],
        env={
            **offers_env(meltano_env, aggregator_db, tmp_path / "dlt"),
            "OFFERS_REFRESH_TOKEN": "wrong-refresh-token-42",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wrong.returncode == 1
    assert "rejected the refresh token" in wrong.stderr
    assert_no_secret(wrong.stdout + wrong.stderr, "wrong-refresh-token-42")


def test_the_cached_access_token_is_private_and_never_logged(
    offers_admin: OffersAdmin, aggregator_db: str, meltano_env: dict[str, str], tmp_path: Path
) -> None:
    """A run after the service expired the cached token: a new one is fetched, cached 0600."""
    env = offers_env(meltano_env, aggregator_db, tmp_path / "dlt")
    offers_admin.settings(token_lifetime_s=1.0)
    runs = []
    for _ in range(2):
        runs.append(
            subprocess.run(
                [sys.executable, "-m", "pipelines.offers"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        )
        offers_admin.expire_token()
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr[-3000:]
    cache = tmp_path / "dlt" / "offers" / "access-token.json"
    assert cache.stat().st_mode & 0o077 == 0  # private to its owner
    (entry,) = json.loads(cache.read_text())["tokens"].values()  # one service, one token
    token = entry["access_token"]
    for done in runs:
        assert_no_secret(done.stdout + done.stderr, token)
