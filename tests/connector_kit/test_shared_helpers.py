"""The helpers every plugin and pipeline shares: one behaviour, tested once."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from connector_kit.deadletter import DeadLetters, rejects_exit_code, send_in_halves
from connector_kit.values import exact_decimal, utc_instant

from pipelines.dlt_project import postgres_credentials


def test_dead_letter_file_path_then_folder_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEAD_LETTER_DIR", str(tmp_path / "env"))
    assert DeadLetters.for_plugin("a.jsonl", path=str(tmp_path / "x.jsonl")).path == (
        tmp_path / "x.jsonl"
    )
    assert DeadLetters.for_plugin("a.jsonl", folder=str(tmp_path / "cfg")).path == (
        tmp_path / "cfg" / "a.jsonl"
    )
    assert DeadLetters.for_plugin("a.jsonl").path == tmp_path / "env" / "a.jsonl"
    monkeypatch.delenv("DEAD_LETTER_DIR")
    assert DeadLetters.for_plugin("a.jsonl").path == Path("output/dead-letter/a.jsonl")


def test_rejects_fail_the_run_unless_told_not_to(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test")
    with caplog.at_level(logging.ERROR):
        assert rejects_exit_code(0, True, log) == 0
        assert rejects_exit_code(3, False, log) == 0
        assert not caplog.records
        assert rejects_exit_code(3, True, log, dead_letter="x.jsonl") == 1
    assert [r.getMessage() for r in caplog.records] == [
        "run rejected records rejected=3 dead_letter=x.jsonl"
    ]


def test_a_refused_batch_is_split_until_the_bad_records_stand_alone() -> None:
    sent: list[list[int]] = []
    rejected: list[tuple[int, str]] = []

    def send(batch: list[int]) -> None:
        if any(n % 5 == 0 for n in batch):
            raise ValueError(f"bad in {batch}")
        sent.append(list(batch))

    send_in_halves(list(range(1, 12)), send, ValueError, lambda n, e: rejected.append((n, str(e))))
    assert [n for n, _ in rejected] == [5, 10]
    assert sorted(n for batch in sent for n in batch) == [1, 2, 3, 4, 6, 7, 8, 9, 11]
    with pytest.raises(KeyError):  # not a refusal: the caller's to handle
        send_in_halves([1, 2], lambda b: {}[0], ValueError, lambda n, e: None)


@pytest.mark.parametrize(
    ("url", "pgpassword", "expected"),
    [
        ("postgresql://u@h:5432/db", None, "postgresql://u:unused@h:5432/db"),
        ("postgresql+psycopg2://u@h/db", None, "postgresql://u:unused@h/db"),
        ("postgresql://u@h/db", "p@ss", "postgresql://u:p%40ss@h/db"),
        (
            "postgresql://u:pw@h/db?sslmode=require",
            "other",
            "postgresql://u:pw@h/db?sslmode=require",
        ),
        ("postgresql://u%40corp@h/db", None, "postgresql://u%40corp:unused@h/db"),
    ],
)
def test_postgres_credentials_for_dlt(
    url: str, pgpassword: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pgpassword is None:
        monkeypatch.delenv("PGPASSWORD", raising=False)
    else:
        monkeypatch.setenv("PGPASSWORD", pgpassword)
    assert postgres_credentials(url) == expected


def test_values_read_the_same_everywhere() -> None:
    assert utc_instant("2025-01-02T03:04:05") == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    aware = dt.datetime(2025, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_instant(aware) is aware
    assert exact_decimal(2.675) == Decimal("2.675")
    assert exact_decimal("10.50") == Decimal("10.50")
    assert exact_decimal(7) == Decimal(7)
