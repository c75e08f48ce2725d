"""Dagster area fixtures: the definitions module, and runs in-process against the sandbox.

The Glassdome area's fixtures (a private MES database and Glassdome API per test) are reused.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from tests.glassdome.conftest import flow_env, glassdome, mes_url

__all__ = ["flow_env", "glassdome", "mes_url"]


@pytest.fixture(scope="session")
def definitions() -> dg.Definitions:
    from orchestrate.definitions import defs  # loading runs `meltano job/schedule list` once

    return defs


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def use_env(monkeypatch: pytest.MonkeyPatch):
    """Put a meltano environment into this process's: Dagster's Pipes client passes it on."""

    def use(env: dict[str, str]) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return use


def run_logs(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    """Every message of the run's event log, as the Dagster UI lists them."""
    return [entry.user_message for entry in instance.all_logs(result.run_id)]
