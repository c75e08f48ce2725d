"""SSH host keys checked against a known_hosts file, as `ssh -o StrictHostKeyChecking=yes` does.

fsspec's SFTP file system takes a paramiko `MissingHostKeyPolicy`, and its SSHClient loads no
known_hosts: every server key reaches the policy, before we log in. `KnownHostsPolicy` accepts
a key only when the file lists it for that host (`host`, or `[host]:port` off port 22; plain or
hashed names, as OpenSSH writes them); any other key stops the connection with one line naming
the host, the key's type and SHA256 fingerprint (as ssh shows them) and the file. Wildcard
patterns and `@cert-authority` / `@revoked` lines are not read (paramiko does not).

Settings (environment, read for each sftp:// folder opened):
- `SFTP_KNOWN_HOSTS`: the file (default `~/.ssh/known_hosts`).
- `SFTP_HOST_KEY_POLICY`: `verify` (default) or `accept-any`, for trusted test networks only:
  any key is accepted, with a warning line naming it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import paramiko

from connector_kit.logs import kv

POLICY_ENV = "SFTP_HOST_KEY_POLICY"
KNOWN_HOSTS_ENV = "SFTP_KNOWN_HOSTS"
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"

log = logging.getLogger(__name__)


class HostKeyRefused(paramiko.SSHException, OSError):
    """A server key the known_hosts file does not list: an OSError, as a store out of reach."""


def describe(key: paramiko.PKey) -> str:
    """A key as ssh names it: `ssh-ed25519 SHA256:...`."""
    return f"{key.get_name()} {key.fingerprint}"


def _keyscan(hostname: str) -> str:
    """The command that prints a host's keys, for `host` or `[host]:port`."""
    if hostname.startswith("[") and "]:" in hostname:
        host, port = hostname[1:].rsplit("]:", 1)
        return f"ssh-keyscan -p {port} {host}"
    return f"ssh-keyscan {hostname}"


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """Accept a server key only when `known_hosts` lists that key for that host."""

    def __init__(self, known_hosts: str | os.PathLike[str]) -> None:
        self.known_hosts = Path(known_hosts).expanduser()

    def __repr__(self) -> str:  # fsspec reuses a connection whose options have the same repr
        return f"{type(self).__name__}({str(self.known_hosts)!r})"

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        entries = paramiko.HostKeys()
        exists = self.known_hosts.is_file()
        if exists:
            entries.load(str(self.known_hosts))
        known = entries.lookup(hostname) or {}
        if known.get(key.get_name()) == key:
            return
        client.close()  # the transport's thread and socket go now, not with the process
        where = str(self.known_hosts) if exists else f"{self.known_hosts} (no such file)"
        raise HostKeyRefused(self._refusal(hostname, key, known, where))

    def _refusal(
        self, hostname: str, key: paramiko.PKey, known: Mapping[str, paramiko.PKey], where: str
    ) -> str:
        presented = describe(key)
        if key.get_name() in known:
            return (
                f"host key of {hostname} CHANGED: it presented {presented}, {self.known_hosts} "
                f"has {describe(known[key.get_name()])} for it; someone may be intercepting the "
                "connection, or the server's key was replaced (confirm the new fingerprint with "
                "its administrator, then replace that line)"
            )
        others = f", which has only {', '.join(known)} for it" if known else ""
        return (
            f"host key of {hostname} unknown: {presented} is not in {where}{others} "
            f"(confirm the fingerprint with the server's administrator, then add its line: "
            f"{_keyscan(hostname)} >> {self.known_hosts}; or set {KNOWN_HOSTS_ENV})"
        )


class AcceptAnyHostKey(paramiko.MissingHostKeyPolicy):
    """SFTP_HOST_KEY_POLICY=accept-any: any key, with a warning line naming it."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        log.warning(
            "sftp host key not verified %s",
            kv(host=hostname, key=describe(key), because=f"{POLICY_ENV}=accept-any"),
        )


def policy_from_env() -> paramiko.MissingHostKeyPolicy:
    """The policy SFTP_HOST_KEY_POLICY and SFTP_KNOWN_HOSTS name."""
    name = os.environ.get(POLICY_ENV, "").strip().lower() or "verify"
    if name == "accept-any":
        return AcceptAnyHostKey()
    if name != "verify":
        raise ValueError(f"{POLICY_ENV}={name!r}: expected verify (the default) or accept-any")
    return KnownHostsPolicy(os.environ.get(KNOWN_HOSTS_ENV) or DEFAULT_KNOWN_HOSTS)
