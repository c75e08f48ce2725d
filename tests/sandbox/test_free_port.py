"""free_port with SANDBOX_PORT_RANGE: ports of that range only, each handed out once."""

from __future__ import annotations

import socket

import pytest

from sandbox import settings


def test_a_range_hands_out_free_ports_once_and_says_when_it_is_used_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "_handed_out", set())
    with socket.socket() as listening:
        listening.bind((settings.HOST, 0))
        listening.listen()
        busy = listening.getsockname()[1]
        low = max(busy - 20, 1025)
        monkeypatch.setenv(settings.PORT_RANGE_ENV, f"{low}-{low + 40}")
        handed = [settings.free_port() for _ in range(8)]
        assert len(set(handed)) == len(handed)  # never the same port twice
        assert busy not in handed  # never one something listens on
        assert all(low <= port <= low + 40 for port in handed)

        monkeypatch.setenv(settings.PORT_RANGE_ENV, f"{busy}-{busy}")
        with pytest.raises(RuntimeError, match="no free port left in SANDBOX_PORT_RANGE"):
            settings.free_port()
