"""ops.lockcheck: `make install` fails when requirements.lock no longer satisfies a pyproject."""

from __future__ import annotations

import re
from pathlib import Path

from ops import lockcheck


def test_the_committed_lock_satisfies_every_pyproject() -> None:
    assert lockcheck.problems() == []


def test_a_dependency_missing_from_the_lock_is_named(tmp_path: Path) -> None:
    text = lockcheck.LOCK.read_text()
    lock = tmp_path / "requirements.lock"
    lock.write_text(re.sub(r"(?m)^tenacity==.*\n(    .*\n)*", "", text))
    found = lockcheck.problems(lock)
    assert any("tenacity<10,>=9.0 is not in requirements.lock" in p for p in found), found


def test_a_locked_version_the_pyproject_excludes_is_named(tmp_path: Path) -> None:
    text = lockcheck.LOCK.read_text()
    lock = tmp_path / "requirements.lock"
    lock.write_text(re.sub(r"(?m)^tenacity==\S+", "tenacity==1.0.0", text))
    found = lockcheck.problems(lock)
    assert any("excludes the locked tenacity==1.0.0" in p for p in found), found
