"""The servers of the sandbox, each with start, stop, health and address."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pymongo
import requests

from sandbox import processes
from sandbox.settings import DATABASES, HOST, SandboxConfig

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
from sandbox import postgres  # noqa: E402  (imports the wheel, which warns about XDG_RUNTIME_DIR)


class Server(Protocol):
    name: str

    def start(self, cfg: SandboxConfig) -> None: ...
    def stop(self, cfg: SandboxConfig) -> None: ...
    def healthy(self, cfg: SandboxConfig) -> bool: ...
    def address(self, cfg: SandboxConfig) -> str: ...
    def pid(self, cfg: SandboxConfig) -> int | None: ...


def _pid_file(cfg: SandboxConfig, name: str) -> Path:
    return cfg.root / "run" / f"{name}.pid"


def _log_file(cfg: SandboxConfig, name: str) -> Path:
    return cfg.root / "logs" / f"{name}.log"


@dataclass
class PostgresServer:
    name: str = "postgres"

    def data_dir(self, cfg: SandboxConfig) -> Path:
        return cfg.root / "pg"

    def start(self, cfg: SandboxConfig) -> None:
        postgres.start(self.data_dir(cfg), cfg.port("postgres"), _log_file(cfg, self.name))
        postgres.ensure_databases(cfg.postgres_url(), DATABASES)

    def stop(self, cfg: SandboxConfig) -> None:
        postgres.stop(self.data_dir(cfg))

    def healthy(self, cfg: SandboxConfig) -> bool:
        return postgres.is_running(self.data_dir(cfg), cfg.port("postgres"))

    def address(self, cfg: SandboxConfig) -> str:
        return cfg.postgres_url()

    def pid(self, cfg: SandboxConfig) -> int | None:
        return processes.read_pid(self.data_dir(cfg) / "postmaster.pid")


@dataclass
class MongoServer:
    """SecantusDB, a MongoDB wire-protocol server, as a separate daemon (GPL: never imported)."""

    name: str = "mongo"

    def start(self, cfg: SandboxConfig) -> None:
        if self.healthy(cfg):
            return
        storage = cfg.root / "mongo"
        storage.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).with_name("secantusd-py")
        processes.spawn(
            [
                str(exe),
                "--host",
                HOST,
                "--port",
                str(cfg.port("mongo")),
                "--storage-path",
                str(storage),
                "--log-level",
                "WARNING",
            ],
            _pid_file(cfg, self.name),
            _log_file(cfg, self.name),
        )
        processes.wait_until(lambda: self.healthy(cfg), 60, "mongo", _log_file(cfg, self.name))

    def stop(self, cfg: SandboxConfig) -> None:
        pid = self.pid(cfg)
        if pid:
            processes.terminate(pid)
        _pid_file(cfg, self.name).unlink(missing_ok=True)

    def healthy(self, cfg: SandboxConfig) -> bool:
        if not processes.port_open(HOST, cfg.port("mongo")):
            return False
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            cfg.mongo_uri, serverSelectionTimeoutMS=1000
        )
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

    def address(self, cfg: SandboxConfig) -> str:
        return cfg.mongo_uri

    def pid(self, cfg: SandboxConfig) -> int | None:
        return processes.read_pid(_pid_file(cfg, self.name))


@dataclass
class HttpServer:
    """A stand-in HTTP API run as `python -m <module> --port <port> ...`."""

    name: str
    module: str
    health_path: str
    extra_args: list[str] = field(default_factory=list)

    def start(self, cfg: SandboxConfig) -> None:
        if self.healthy(cfg):
            return
        argv = [
            sys.executable,
            "-m",
            self.module,
            "--port",
            str(cfg.port(self.name)),
            *self.extra_args,
        ]
        processes.spawn(argv, _pid_file(cfg, self.name), _log_file(cfg, self.name), env=cfg.env)
        processes.wait_until(lambda: self.healthy(cfg), 60, self.name, _log_file(cfg, self.name))

    def stop(self, cfg: SandboxConfig) -> None:
        pid = self.pid(cfg)
        if pid:
            processes.terminate(pid)
        _pid_file(cfg, self.name).unlink(missing_ok=True)

    def healthy(self, cfg: SandboxConfig) -> bool:
        try:
            return requests.get(self.address(cfg) + self.health_path, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def address(self, cfg: SandboxConfig) -> str:
        return cfg.http_url(self.name)

    def pid(self, cfg: SandboxConfig) -> int | None:
        return processes.read_pid(_pid_file(cfg, self.name))


# Start order matters: databases first.
SERVERS: list[Server] = [
    PostgresServer(),
    MongoServer(),
    HttpServer("glassdome", "sandbox.glassdome.app", "/health"),
    HttpServer("customers", "sandbox.customers.app", "/api/health"),
    HttpServer("offers", "sandbox.offers.app", "/health"),
]
