"""Logged values are single-line: a newline (or any control character) cannot forge a line.

Before: a partner file named "x.csv\\n<timestamp> INFO ... feed archived" printed a second,
forged log line, and multi-line API errors spread over several lines.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from connector_kit import logs

from .data_fixtures import _partner_feeds_env, feeds_cli, feeds_settings, land

__all__ = ["_partner_feeds_env"]
pytestmark = pytest.mark.e2e
FORGED = "2026-01-01 00:00:00,000 INFO pipelines.partner_feeds.pipeline run_id=x forged=yes"
# our log lines start with a timestamp and a level
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


def test_kv_and_messages_escape_every_control_character(caplog: pytest.LogCaptureFixture) -> None:
    value = "a\nb\r\tc\x1b[31m\x00\x85\u2028d\\n"
    text = logs.kv(file=value, plain="ok")
    assert "\n" not in text
    assert text == 'file="a\\nb\\r\\tc\\x1b[31m\\x00\\x85\\u2028d\\\\n" plain=ok'
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "api said %s", ("no\nway",), None)
    assert logs.MaskingFormatter().format(record).endswith("api said no\\nway")
    error = RuntimeError("HTTP 500 from GET http://x/y:\n<html>\n  <b>boom</b>\n</html>")
    assert logs.error_line(error) == "HTTP 500 from GET http://x/y: <html> <b>boom</b> </html>"


def test_a_file_name_with_undecodable_bytes_logs_as_valid_utf8() -> None:
    name = b"zeta-\xff.csv".decode("utf-8", "surrogateescape")  # as os.listdir gives it
    text = logs.kv(file=name)
    assert text == 'file="zeta-\\udcff.csv"'
    assert text.encode("utf-8")  # a file handler or a log shipper can write it


def test_a_file_name_cannot_forge_a_log_line(tmp_path: Path) -> None:
    settings = feeds_settings(tmp_path, destination="duckdb")
    evil = land(
        settings, "acme", f"x.csv\n{FORGED}\n.csv", b"sku;name;price;stock\nA1;Bolt;1,00;1\n"
    )
    land(settings, "acme", "good.csv", b"sku;name;price;stock\nA2;Nut;2,00;2\n")

    result = feeds_cli(settings)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert all(LINE.match(line) for line in lines), [x for x in lines if not LINE.match(x)]
    assert not any(line.startswith(FORGED) for line in lines)
    assert any(f"x.csv\\n{FORGED}" in line for line in lines)  # shown, escaped, on its line
    # both feeds landed (the strange name is data, not a reason to fail) and are archived
    assert not evil.exists()
    assert logs.parse_summary(lines[-1])["loaded"] == 2  # type: ignore[index]
    again = feeds_cli(settings)
    assert again.returncode == 0
    assert "no feeds waiting" in again.stderr
