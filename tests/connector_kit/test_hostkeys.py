"""sftp host keys checked against known_hosts (connector_kit.hostkeys); the server-side
tests are in tests/tracos/test_store_locations.py."""

from __future__ import annotations

import logging
from pathlib import Path

import paramiko
import pytest
from connector_kit import hostkeys
from connector_kit.hostkeys import AcceptAnyHostKey, HostKeyRefused, KnownHostsPolicy
from connector_kit.remote import store_options

SERVER_KEY = paramiko.ECDSAKey.generate()
OTHER_KEY = paramiko.ECDSAKey.generate()


class Client:
    """What the policy is handed: only `close` is used."""

    closed = False

    def close(self) -> None:
        self.closed = True


def _line(names: str, key: paramiko.PKey) -> str:
    return f"{names} {key.get_name()} {key.get_base64()}\n"


def _check(policy: KnownHostsPolicy, hostname: str, key: paramiko.PKey = SERVER_KEY) -> Client:
    client = Client()
    policy.missing_host_key(client, hostname, key)  # type: ignore[arg-type]
    return client


def test_a_listed_key_is_accepted_for_its_host_and_port(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        _line("sftp.example,10.0.0.5", SERVER_KEY) + _line("[erp.example]:2222", SERVER_KEY)
    )
    policy = KnownHostsPolicy(known_hosts)

    assert not _check(policy, "sftp.example").closed
    assert not _check(policy, "10.0.0.5").closed
    assert not _check(policy, "[erp.example]:2222").closed  # paramiko's name off port 22


@pytest.mark.parametrize(
    ("listed", "hostname", "keyscan"),
    [
        ("sftp.example", "[sftp.example]:2222", "ssh-keyscan -p 2222 sftp.example"),
        ("[sftp.example]:2222", "sftp.example", "ssh-keyscan sftp.example"),
        ("[sftp.example]:2222", "[sftp.example]:2200", "ssh-keyscan -p 2200 sftp.example"),
        ("other.example", "sftp.example", "ssh-keyscan sftp.example"),
    ],
)
def test_a_key_listed_for_another_host_or_port_is_refused(
    tmp_path: Path, listed: str, hostname: str, keyscan: str
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(_line(listed, SERVER_KEY))
    client = Client()

    with pytest.raises(HostKeyRefused) as refused:
        KnownHostsPolicy(known_hosts).missing_host_key(client, hostname, SERVER_KEY)  # type: ignore[arg-type]

    assert str(refused.value) == (
        f"host key of {hostname} unknown: ecdsa-sha2-nistp256 {SERVER_KEY.fingerprint} is not "
        f"in {known_hosts} (confirm the fingerprint with the server's administrator, then add "
        f"its line: {keyscan} >> {known_hosts}; or set SFTP_KNOWN_HOSTS)"
    )
    assert isinstance(refused.value, OSError)  # what the plugins' expected failures catch
    assert client.closed  # no transport left behind


def test_a_hashed_entry_is_matched(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    hashed = paramiko.HostKeys.hash_host("[erp.example]:2222")
    known_hosts.write_text(_line(hashed, SERVER_KEY))

    assert not _check(KnownHostsPolicy(known_hosts), "[erp.example]:2222").closed
    with pytest.raises(HostKeyRefused, match="unknown"):
        _check(KnownHostsPolicy(known_hosts), "erp.example")


def test_a_changed_key_is_refused_with_both_fingerprints(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(_line("[erp.example]:2222", OTHER_KEY))

    with pytest.raises(HostKeyRefused) as refused:
        _check(KnownHostsPolicy(known_hosts), "[erp.example]:2222")

    message = str(refused.value)
    assert message.startswith(
        f"host key of [erp.example]:2222 CHANGED: it presented ecdsa-sha2-nistp256 "
        f"{SERVER_KEY.fingerprint}, {known_hosts} has ecdsa-sha2-nistp256 "
        f"{OTHER_KEY.fingerprint} for it; someone may be intercepting the connection"
    )


def test_a_host_known_by_another_key_type_is_unknown(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    ed25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIATBQFje5AxLBhgOoeW8PrLNUIrAbVKm5+46gKwanQwi"
    known_hosts.write_text(f"erp.example ssh-ed25519 {ed25519}\n")

    with pytest.raises(HostKeyRefused, match="which has only ssh-ed25519 for it"):
        _check(KnownHostsPolicy(known_hosts), "erp.example")


def test_a_missing_file_refuses_every_host(tmp_path: Path) -> None:
    with pytest.raises(HostKeyRefused, match=r"is not in .*/absent \(no such file\)"):
        _check(KnownHostsPolicy(tmp_path / "absent"), "erp.example")


def test_accept_any_accepts_and_names_the_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="connector_kit.hostkeys"):
        AcceptAnyHostKey().missing_host_key(Client(), "[erp.example]:2222", SERVER_KEY)  # type: ignore[arg-type]

    assert caplog.messages == [
        "sftp host key not verified host=[erp.example]:2222 "
        f'key="ecdsa-sha2-nistp256 {SERVER_KEY.fingerprint}" '
        "because=SFTP_HOST_KEY_POLICY=accept-any"
    ]


def test_the_policy_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SFTP_HOST_KEY_POLICY", raising=False)
    monkeypatch.delenv("SFTP_KNOWN_HOSTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    default = hostkeys.policy_from_env()
    assert isinstance(default, KnownHostsPolicy)
    assert default.known_hosts == tmp_path / ".ssh" / "known_hosts"

    monkeypatch.setenv("SFTP_KNOWN_HOSTS", "/etc/connectors/known_hosts")
    assert repr(hostkeys.policy_from_env()) == "KnownHostsPolicy('/etc/connectors/known_hosts')"

    monkeypatch.setenv("SFTP_HOST_KEY_POLICY", "Accept-Any")
    assert isinstance(hostkeys.policy_from_env(), AcceptAnyHostKey)

    monkeypatch.setenv("SFTP_HOST_KEY_POLICY", "auto_add")
    with pytest.raises(ValueError, match="expected verify"):
        hostkeys.policy_from_env()


def test_only_sftp_urls_get_a_host_key_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTP_KNOWN_HOSTS", "/etc/connectors/known_hosts")
    monkeypatch.delenv("SFTP_HOST_KEY_POLICY", raising=False)

    assert store_options("s3://bucket/erp/in") == {}
    assert store_options("memory://erp/in") == {}
    for url in ("sftp://user:pw@erp.example:2222/in", "ssh://erp.example/in"):
        (policy,) = store_options(url).values()
        # fsspec keys its cached connections on the options' repr: the same for each folder
        assert repr(policy) == repr(store_options(url)["host_key_policy"])
        assert isinstance(policy, KnownHostsPolicy)
