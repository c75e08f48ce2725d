"""Same input, same Glassdome: sku clashes, a swap, a move, unknown statuses and MAT-1001, once
against a clean API (the real `meltano run tap-mes target-glassdome`) and five times against
fault mode (target-glassdome fed the same tap output), each on a fresh Glassdome."""

from __future__ import annotations

import datetime as dt
import json
import string
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
import yaml
from connector_kit import logs

from sandbox import mes
from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN
from tests.glassdome.conftest import (
    GlassdomeApi,
    expected_products,
    future,
    meltano_run,
)

pytestmark = pytest.mark.e2e
FAULTY_RUNS = 5
FAULTS = {"error": 0.2, "throttle": 0.05, "drop": 0.05, "drop_after": 0.05, "retry_after": 0.05}

# Glassdome before every run (besides the seed MAT-1001 / SKU-ALPHA).
BEFORE = {
    "DET-HOLD": ("CLASH-HELD", "ACTIVE"),  # not in MES: keeps its sku
    "DET-SWAP-A": ("SWAP-X", "ACTIVE"),
    "DET-SWAP-B": ("SWAP-Y", "ACTIVE"),
    "DET-MOVE-A": ("MOVE-1", "ACTIVE"),
    "DET-EXIST-L": ("EL-1", "ACTIVE"),
    "DET-EXIST-U": ("EU-1", "ACTIVE"),
    "DET-STAY": ("SKU-STAY", "ACTIVE"),
}
EARLY = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)  # before every generated row
LATE = future()  # after every generated row
SECOND = dt.timedelta(seconds=1)
# (material, sku, MES status, updated_at): the latest row of each material.
MES_ROWS = [
    # A swap whose halves are in the first and the last file of the input.
    ("DET-SWAP-A", "SWAP-Y", "active", EARLY),
    ("DET-SWAP-B", "SWAP-X", "active", LATE + 10 * SECOND),
    # A move: a new product takes the sku an existing one leaves later in the input.
    ("DET-NEW-M", "MOVE-1", "active", EARLY + 1 * SECOND),
    ("DET-MOVE-A", "MOVE-2", "released", LATE + 20 * SECOND),
    # A free sku claimed twice at the same updated_at: the smaller id wins.
    ("DET-DUP-2", "CLASH-FREE", "active", LATE + 30 * SECOND),
    ("DET-DUP-1", "CLASH-FREE", "blocked", LATE + 30 * SECOND),
    # The earlier updated_at wins over the smaller id.
    ("DET-DUP-0", "CLASH-FREE-2", "active", LATE + 40 * SECOND),
    ("DET-DUP-3", "CLASH-FREE-2", "active", LATE + 35 * SECOND),
    # A sku held by a product that is not in the run: a new and an existing product lose.
    ("DET-NEW-H", "CLASH-HELD", "active", EARLY + 2 * SECOND),
    ("DET-EXIST-L", "CLASH-HELD", "active", LATE + 50 * SECOND),
    # A sku held by a product that comes later in the run and keeps it.
    ("DET-NEW-W", "SKU-STAY", "active", EARLY + 3 * SECOND),
    ("DET-STAY", "SKU-STAY", "blocked", LATE + 55 * SECOND),
    # A sku a product of the run took first (MAT-1002, new in Glassdome, from 2024).
    ("DET-NEW-K", "SKU-BETA", "active", LATE + 60 * SECOND),
    # Unknown status spellings: new products, and an existing one that keeps its state.
    ("DET-UNK-1", "UNK-1", "on hold", LATE + 70 * SECOND),
    ("DET-UNK-2", "UNK-2", "frozen", EARLY + 4 * SECOND),
    ("DET-EXIST-U", "EU-2", "on hold", LATE + 80 * SECOND),
]
DELIVERED = {
    "DET-HOLD": ("CLASH-HELD", "ACTIVE"),
    "DET-SWAP-A": ("SWAP-Y", "ACTIVE"),
    "DET-SWAP-B": ("SWAP-X", "ACTIVE"),
    "DET-NEW-M": ("MOVE-1", "ACTIVE"),
    "DET-MOVE-A": ("MOVE-2", "ACTIVE"),
    "DET-DUP-1": ("CLASH-FREE", "INACTIVE"),
    "DET-DUP-3": ("CLASH-FREE-2", "ACTIVE"),
    "DET-EXIST-L": ("EL-1", "ACTIVE"),
    "DET-EXIST-U": ("EU-1", "ACTIVE"),
    "DET-STAY": ("SKU-STAY", "INACTIVE"),
}
DEAD_LETTERED = {
    "DET-DUP-2": "sku CLASH-FREE claimed earlier in this run by DET-DUP-1",
    "DET-DUP-0": "sku CLASH-FREE-2 claimed earlier in this run by DET-DUP-3",
    "DET-NEW-H": "sku CLASH-HELD held by DET-HOLD",
    "DET-EXIST-L": "sku CLASH-HELD held by DET-HOLD",
    "DET-NEW-W": "sku SKU-STAY held by DET-STAY",
    "DET-NEW-K": "sku SKU-BETA claimed earlier in this run by MAT-1002",
    "DET-UNK-1": "invalid status None",
    "DET-UNK-2": "invalid status None",
    "DET-EXIST-U": "invalid status None",
}


def _meltano_config(kind: str, name: str, values: dict[str, str]) -> dict[str, Any]:
    """A plugin's `config:` in meltano/glassdome.meltano.yml, its $VARIABLES filled in (a
    `meltano invoke --dump=config` per plugin would cost seconds)."""
    project = yaml.safe_load((PROJECT_ROOT / "meltano/glassdome.meltano.yml").read_text())
    plugin = next(p for p in project["plugins"][kind] if p["name"] == name)
    text = string.Template(json.dumps(plugin["config"])).safe_substitute(values)
    return dict(json.loads(text))


def _fresh_company(glassdome: GlassdomeApi, n: int) -> str:
    """A fresh Glassdome for one run: its own API key and company, seeded like the sandbox."""
    key, company = f"pat_det{n}_xoxo", f"det{n}"
    with psycopg2.connect(glassdome.database_url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO api_keys (api_key, company_id) VALUES (%s, %s)", (key, company))
        cur.execute(
            "INSERT INTO products (external_id, company_id, sku, status)"
            " VALUES ('MAT-1001', %s, 'SKU-ALPHA', 'ACTIVE')",
            (company,),
        )
    conn.close()
    before = [{"id": i, "sku": sku, "status": status} for i, (sku, status) in BEFORE.items()]
    response = requests.post(
        f"{glassdome.url}/ingest/products", json=before, headers={"X-API-Key": key}, timeout=10
    )
    response.raise_for_status()
    return key


def _state(glassdome: GlassdomeApi, key: str) -> dict[str, tuple[str, str]]:
    with psycopg2.connect(glassdome.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT external_id, sku, status FROM products"
            " WHERE company_id = (SELECT company_id FROM api_keys WHERE api_key = %s)",
            (key,),
        )
        rows = cur.fetchall()
    conn.close()
    return {external_id: (sku, status) for external_id, sku, status in rows}


def _letters(path: Path) -> dict[str, dict[str, Any]]:
    """Dead letters by product id: `reason`, and the record's `sku` and `status`."""
    lines = path.read_text().splitlines() if path.exists() else []
    letters = [json.loads(line) for line in lines if line.strip()]
    by_id = {
        letter["record"]["id"]: {
            "reason": letter["reason"],
            "sku": letter["record"]["sku"],
            "status": letter["record"]["status"],
        }
        for letter in letters
    }
    assert len(by_id) == len(letters), "a record was dead-lettered twice"
    return by_id


def _summary(output: str) -> dict[str, Any]:
    """The target's summary line (connector_kit.logs.summary) for the products stream."""
    found = [s for line in output.splitlines() if (s := logs.parse_summary(line))]
    return [s for s in found if s.get("stream") == "products"][-1]


def test_same_input_gives_the_same_glassdome_clean_or_faulty(
    flow_env: dict[str, str], glassdome: GlassdomeApi, mes_url: str, tmp_path: Path
) -> None:
    mes.generate(mes_url, orders=1200, materials=600)
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        for material, sku, status, updated_at in MES_ROWS:
            cur.execute("INSERT INTO mara (matnr) VALUES (%s) ON CONFLICT DO NOTHING", (material,))
            cur.execute(
                "INSERT INTO mvke (matnr, vkorg, vtweg, sku, status, updated_at)"
                " VALUES (%s, '1000', '10', %s, %s, %s)",
                (material, sku, status, updated_at),
            )
    conn.close()
    env = {
        **flow_env,
        "TAP_MES_BATCH_CONFIG_BATCH_SIZE": "200",  # 4 files: the swap spans the first and last
        "TARGET_GLASSDOME_REQUEST_SIZE": "50",
        "TARGET_GLASSDOME_FAIL_ON_REJECTS": "false",
    }
    keys = [_fresh_company(glassdome, n) for n in range(1 + FAULTY_RUNS)]
    letter_paths = [tmp_path / f"dead-letter-{n}" / "glassdome.jsonl" for n in range(len(keys))]
    started = time.monotonic()

    # The clean run: the real meltano path.
    clean = meltano_run(
        "tap-mes",
        "target-glassdome",
        env={**env, "GLASSDOME_API_KEY": keys[0], "DEAD_LETTER_DIR": str(letter_paths[0].parent)},
    )
    assert clean.returncode == 0, clean.output[-3000:]
    assert keys[0] not in clean.output

    # The faulty runs: the same tap output (BATCH files kept) into five targets at once.
    tap_config = _meltano_config("extractors", "tap-mes", {"MES_DATABASE_URL": mes_url})
    tap_config["batch_config"]["storage"]["root"] = str(tmp_path / "batches-faulty")
    tap_config["batch_config"]["batch_size"] = int(env["TAP_MES_BATCH_CONFIG_BATCH_SIZE"])
    (tmp_path / "tap.json").write_text(json.dumps(tap_config))
    target_config = _meltano_config(
        "loaders", "target-glassdome", {"GLASSDOME_API_URL": glassdome.url}
    )
    catalog = PROJECT_ROOT / "meltano/catalogs/tap-mes.glassdome.json"
    messages = tmp_path / "messages.jsonl"
    with messages.open("w") as out:
        subprocess.run(
            [VENV_BIN / "tap-mes", "--config", tmp_path / "tap.json", "--catalog", catalog],
            stdout=out,
            check=True,
            timeout=120,
        )
    glassdome.faults(**FAULTS)
    targets = []
    for n in range(1, len(keys)):
        config = tmp_path / f"target-{n}.json"
        config.write_text(
            json.dumps(
                {
                    **target_config,
                    "api_key": keys[n],
                    "dead_letter_path": str(letter_paths[n]),
                    "request_size": int(env["TARGET_GLASSDOME_REQUEST_SIZE"]),
                    "fail_on_rejects": False,
                    "clean_up_batch_files": False,
                    "retry_attempts": 12,
                }
            )
        )
        with messages.open() as stdin:
            targets.append(
                subprocess.Popen(
                    [VENV_BIN / "target-glassdome", "--config", config],
                    stdin=stdin,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
    outputs = [target.communicate(timeout=300)[0] for target in targets]
    glassdome.faults()
    elapsed = time.monotonic() - started
    final_states = set()
    for target, output, key in zip(targets, outputs, keys[1:], strict=True):
        assert target.returncode == 0, output[-3000:]
        assert int(_summary(output)["retried"]) > 0  # the faults did hit every run
        assert key not in output
        final_states.add([line for line in output.splitlines() if '"bookmarks"' in line][-1])
    assert len(final_states) == 1  # each run ends with the same, final STATE

    states = [_state(glassdome, key) for key in keys]
    letters = [_letters(path) for path in letter_paths]
    print(f"6 runs (1 clean via meltano, {FAULTY_RUNS} faulty): {elapsed:.1f} s")

    # All six runs agree: end states, and dead letters with the same reasons.
    assert all(state == states[0] for state in states[1:])
    assert all(letter == letters[0] for letter in letters[1:])
    # ... and they are what the rules say.
    expected = expected_products(mes_url) | DELIVERED
    assert states[0] == expected
    assert {i: letter["reason"].split(":")[0] for i, letter in letters[0].items()} == DEAD_LETTERED
    for product_id, letter in letters[0].items():
        # No dead letter names a product that is in Glassdome as the record has it ...
        assert states[0].get(product_id) != (letter["sku"], letter["status"])
        if product_id not in BEFORE:
            assert product_id not in states[0]
        # ... and a sku's named winner holds that sku.
        if letter["reason"].startswith("sku "):
            words = letter["reason"].split()
            assert states[0][words[-1]][0] == words[1]
