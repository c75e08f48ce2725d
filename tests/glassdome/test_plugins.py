"""Plugin-level checks: the Glassdome client's judgement, config files, the committed catalog."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from connector_kit import retry
from target_glassdome.client import GlassdomeClient, Rejected
from target_glassdome.delivery import problem

from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN
from tests.glassdome.conftest import API_KEY, SEED_PRODUCTS, GlassdomeApi

pytestmark = pytest.mark.e2e


def _client(glassdome: GlassdomeApi, attempts: int = 1) -> GlassdomeClient:
    return GlassdomeClient(
        glassdome.url,
        API_KEY,
        pool_size=1,
        timeout=5,
        retry_policy=lambda: retry.policy(attempts=attempts, initial_wait=0.01, max_wait=0.05),
    )


def test_the_client_judges_by_status_and_by_what_exists(glassdome: GlassdomeApi) -> None:
    client = _client(glassdome)
    # A 500 that outlives the retries of a write is a refusal; the message only adds a hint.
    with pytest.raises(Rejected) as clash:
        client.insert([{"id": "MAT-9", "sku": "SKU-ALPHA", "status": "ACTIVE"}])
    assert clash.value.status == 500
    assert clash.value.reason == "refused by Glassdome (HTTP 500, probably the sku is taken)"
    assert "ux_products_company_sku" in clash.value.error  # the sandbox names its indexes so
    with pytest.raises(Rejected) as bad_status:
        client.update([{"id": "MAT-1001", "status": "GONE"}])
    assert bad_status.value.status == 500
    # A POST of what is there already (its answer was lost): the PATCH probe finds every id.
    assert client.insert([{"id": "MAT-1001", "sku": "SKU-ALPHA", "status": "ACTIVE"}]) is False
    assert client.insert([{"id": "MAT-9", "sku": "SKU-NINE", "status": "ACTIVE"}]) is True
    # Some there, some not: refused as a batch, for the caller to split.
    with pytest.raises(Rejected):
        client.insert(
            [
                {"id": "MAT-9", "sku": "SKU-NINE", "status": "ACTIVE"},
                {"id": "MAT-10", "sku": "SKU-TEN", "status": "ACTIVE"},
            ]
        )
    assert "MAT-10" not in glassdome.products()

    glassdome.faults(error=1.0)
    with pytest.raises(retry.TransientError):  # a read's 5xx is never a refusal
        client.page(0)
    glassdome.faults(throttle=1.0, retry_after=0.01)
    with pytest.raises(retry.TransientError) as throttled:
        client.page(0)
    assert throttled.value.retry_after == pytest.approx(0.01)
    glassdome.faults()
    assert {p["external_id"] for p in client.page(0)} == {"MAT-1001", "MAT-9"}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": "MAT-1", "sku": "S", "status": "ACTIVE"}, None),
        ({"id": "MAT-1", "sku": "S", "status": None}, "invalid status None"),
        ({"id": "MAT-1", "sku": "S", "status": "active"}, "invalid status 'active'"),
        ({"id": "MAT-1", "sku": " ", "status": "ACTIVE"}, "missing sku"),
        ({"sku": "S", "status": "ACTIVE"}, "missing id"),
    ],
)
def test_records_glassdome_would_refuse_are_caught_before_sending(
    record: dict, reason: str | None
) -> None:
    found = problem(record)
    assert found == reason if reason is None else found.startswith(reason)  # type: ignore[union-attr]


@pytest.mark.parametrize("batch_format", [None, "parquet", "jsonl"])
def test_standalone_pipeline_from_yaml_config_files(
    mes_url: str, glassdome: GlassdomeApi, tmp_path: Path, batch_format: str | None
) -> None:
    """tap -> mapper -> target without meltano, as RECORDs or as BATCH files (the mapper
    translates each file of raw MES rows into a file of products; each plugin deletes the
    files it consumed)."""
    tap_settings: dict[str, object] = {"sqlalchemy_url": mes_url, "lookback_seconds": 0}
    batches = tmp_path / "batches"
    if batch_format:
        tap_settings["batch_config"] = {
            "encoding": {"format": batch_format},
            "storage": {"root": str(batches)},
            "batch_size": 3,
        }
    tap_config = tmp_path / "mes.yaml"
    tap_config.write_text(yaml.safe_dump(tap_settings))
    target_config = tmp_path / "glassdome.yml"
    target_config.write_text(
        yaml.safe_dump(
            {
                "api_url": glassdome.url,
                "api_key": API_KEY,
                "dead_letter_path": str(tmp_path / "dl.jsonl"),
            }
        )
    )
    command = (
        f"{VENV_BIN}/tap-mes --config {tap_config} | {VENV_BIN}/map-mes-glassdome"
        f" | {VENV_BIN}/target-glassdome --config {target_config}"
    )
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert API_KEY not in result.stderr
    assert glassdome.products() == SEED_PRODUCTS
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["bookmarks"]["production_orders"]["replication_key_value"].startswith("2024-04-01")
    if batch_format:
        # (records, batch manifests) each reader (mapper, target) saw
        seen = re.findall(r"(\d+) records, (\d+) batch manifests", result.stderr)
        assert len(seen) == 2, seen
        assert all(r == "0" and int(b) > 0 for r, b in seen), seen
        assert list(batches.iterdir()) == []


def test_committed_catalog_matches_discovery_and_selects_only_material_latest(
    tmp_path: pytest.TempPathFactory,
) -> None:
    meltano_yml = yaml.safe_load((PROJECT_ROOT / "meltano" / "glassdome.meltano.yml").read_text())
    (tap,) = meltano_yml["plugins"]["extractors"]
    config = {**tap["config"], "sqlalchemy_url": "postgresql://unused@localhost/mes"}
    config_path = tmp_path / "tap.json"  # type: ignore[operator]
    config_path.write_text(json.dumps(config))
    discovered = json.loads(
        subprocess.run(
            [str(VENV_BIN / "tap-mes"), "--config", str(config_path), "--discover"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    committed = json.loads((PROJECT_ROOT / tap["catalog"]).read_text())
    assert {s["tap_stream_id"]: s["schema"] for s in committed["streams"]} == {
        s["tap_stream_id"]: s["schema"] for s in discovered["streams"]
    }
    selected = {
        s["tap_stream_id"]
        for s in committed["streams"]
        for m in s["metadata"]
        if m["breadcrumb"] == [] and m["metadata"].get("selected")
    }
    assert selected == {"material_latest"}
