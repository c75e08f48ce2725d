"""`make check-config`: names what a job lacks, never prints a value."""

from __future__ import annotations

import os
import subprocess
import sys

from sandbox.settings import PROJECT_ROOT

SECRET = "pat_do_not_print_me"
PROD = {
    "MES_DATABASE_URL": "postgresql://u:pw-do-not-print@db/mes",
    "GLASSDOME_API_URL": "https://glassdome.example",
    "GLASSDOME_API_KEY": SECRET,
    "WAREHOUSE_DATABASE_URL": "postgresql://u:pw-do-not-print@db/wh",
    "MONGO_URI": "mongodb://u:pw-do-not-print@mongo/tractian",
    "DATA_INBOUND_DIR": "/srv/in",
    "DATA_OUTBOUND_DIR": "/srv/out",
    "CUSTOMERS_API_URL": "https://customers.example",
    "OFFERS_SERVICE_URL": "https://offers.example",
    "OFFERS_REFRESH_TOKEN": "refresh-do-not-print",
    "AGGREGATOR_DATABASE_URL": "postgresql://u:pw-do-not-print@db/agg",
    "DEAD_LETTER_DIR": "/srv/dead",
}


def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {*PROD, "DATABASE_URL"} and not k.startswith("SOURCES__")
    }
    return subprocess.run(
        [sys.executable, "-m", "ops.check_config", "--environment", "prod"],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_everything_set_lists_every_job_without_values() -> None:
    result = check(PROD)
    assert result.returncode == 0, result.stdout + result.stderr
    for job in (
        "glassdome",
        "tracos-inbound",
        "tracos-outbound",
        "mes-warehouse",
        "customers",
        "offers",
    ):
        assert f"job {job}" in result.stdout
    assert "do-not-print" not in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "every setting is set" in result.stdout


def test_a_missing_variable_is_named_for_each_job_that_needs_it() -> None:
    env = {k: v for k, v in PROD.items() if k != "MONGO_URI"}
    env["SOURCES__CUSTOMERS__DESTINATION"] = "postgres"  # then DATABASE_URL is needed too
    result = check(env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "2 missing: DATABASE_URL, MONGO_URI"
    missing = [line.split()[0] for line in lines if " MISSING " in line]
    assert missing == [
        "DATABASE_URL",
        "MONGO_URI",
        "MONGO_URI",
        "MONGO_URI",
    ]  # customers, tracos x3
    assert "do-not-print" not in result.stdout
