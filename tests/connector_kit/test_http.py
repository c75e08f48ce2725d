"""Sessions that read the proxy environment once (connector_kit.http)."""

from __future__ import annotations

import pytest
import requests
from connector_kit.http import read_environment_once


def test_proxies_and_ca_bundle_are_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")

    session = read_environment_once(requests.Session(), "https://api.example.com")

    assert session.trust_env is False
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/corp.pem"
    # Changed afterwards: what a request would use (requests merges the environment into
    # each request here when it still trusts it) keeps the values read once.
    monkeypatch.setenv("HTTPS_PROXY", "http://changed:1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/changed.pem")
    used = session.merge_environment_settings("https://api.example.com/items", {}, None, None, None)
    assert used["proxies"]["https"] == "http://proxy.internal:3128"
    assert used["verify"] == "/etc/ssl/corp.pem"


def test_no_proxy_hosts_get_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)

    session = read_environment_once(requests.Session(), "http://127.0.0.1:8000")

    assert session.proxies == {}
    assert session.verify is True
