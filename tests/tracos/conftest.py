"""TracOS <-> ERP fixtures: per-test folders and Mongo database, fixture data, a private Mongo."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo
import pytest
from pymongo.collection import Collection

from sandbox.servers import MongoServer
from sandbox.settings import HOST, PROJECT_ROOT, SandboxConfig
from tests.conftest import VENV_BIN, run_meltano

FIXTURES = Path(__file__).parent / "fixtures"
DATE_FIELDS = ("createdAt", "updatedAt", "deletedAt", "syncedAt")


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def as_bson(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: dt.datetime.fromisoformat(v) if k in DATE_FIELDS and v else v for k, v in doc.items()
    }


def as_json(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.astimezone(dt.UTC).isoformat(timespec="milliseconds")
        if isinstance(v, dt.datetime)
        else v
        for k, v in doc.items()
    }


@dataclass
class Flow:
    """One test's TracOS database and ERP folders, and the meltano environment pointing at them."""

    env: dict[str, str]
    root: Path
    inbound: Path
    outbound: Path
    quarantine: Path
    mongo_uri: str
    client: pymongo.MongoClient[dict[str, Any]]

    @property
    def workorders(self) -> Collection[dict[str, Any]]:
        return self.client.get_default_database()["workorders"]

    def meltano(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_meltano(*args, env={**self.env, **env}, timeout=180)

    def meltano_unprivileged(self, *args: str) -> subprocess.CompletedProcess[str]:
        """As root, chmod 000 hides nothing; drop the capabilities that bypass file permissions."""
        return subprocess.run(
            [
                "setpriv",
                "--bounding-set=-dac_override,-dac_read_search",
                str(VENV_BIN / "meltano"),
                *args,
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def seed_erp_files(self) -> None:
        for path in sorted((FIXTURES / "erp_inbound").glob("*.json")):
            shutil.copy(path, self.inbound / path.name)

    def seed_tracos(self) -> None:
        self.workorders.create_index("number", unique=True)
        self.workorders.insert_many([as_bson(doc) for doc in load_fixture("tracos_seed.json")])

    def documents(self) -> dict[int, dict[str, Any]]:
        return {doc["number"]: doc for doc in self.workorders.find({}, {"_id": False})}

    def outbound_files(self) -> dict[str, Any]:
        return {p.name: json.loads(p.read_text()) for p in sorted(self.outbound.glob("*.json"))}

    def write_erp(self, name: str, content: Any) -> Path:
        path = self.inbound / name
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
        return path


def erp_order(number: int, **changes: Any) -> dict[str, Any]:
    doc = {
        "orderNo": number,
        "isActive": False,
        "isCanceled": False,
        "isDeleted": False,
        "isDone": False,
        "isOnHold": False,
        "isPending": True,
        "isSynced": False,
        "summary": f"ERP order {number}",
        "creationDate": "2025-02-01T08:00:00Z",
        "lastUpdateDate": "2025-02-01T09:00:00-03:00",
        "deletedDate": None,
    }
    return {**doc, **changes}


def make_flow(env: dict[str, str], root: Path, mongo_port: int) -> Flow:
    inbound, outbound = root / "inbound", root / "outbound"
    inbound.mkdir(parents=True)
    outbound.mkdir(parents=True)
    uri = f"mongodb://{HOST}:{mongo_port}/t_{uuid.uuid4().hex[:12]}"
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    flow_env = {
        **env,
        "MONGO_URI": uri,
        "DATA_INBOUND_DIR": str(inbound),
        "DATA_OUTBOUND_DIR": str(outbound),
        # files written by a test are whole at once (tests/hostile covers the settle time)
        "TAP_CLIENT_JSON_SETTLE_SECONDS": "0",
    }
    return Flow(flow_env, root, inbound, outbound, root / "quarantine", uri, client)


@pytest.fixture
def flow(meltano_env: dict[str, str], sandbox_cfg: SandboxConfig, tmp_path: Path) -> Iterator[Flow]:
    """Its own database on the session's Mongo, its own folders."""
    flow = make_flow(meltano_env, tmp_path, sandbox_cfg.port("mongo"))
    yield flow
    flow.client.drop_database(flow.client.get_default_database().name)
    flow.client.close()


@dataclass
class OwnMongo:
    server: MongoServer
    cfg: SandboxConfig

    def stop(self) -> None:
        self.server.stop(self.cfg)

    def start(self) -> None:
        self.server.start(self.cfg)


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[OwnMongo]:
    """A Mongo server of this test alone, on a free port with its own storage: it may be stopped."""
    own = OwnMongo(MongoServer(), SandboxConfig.ephemeral(tmp_path / "own-mongo"))
    own.start()
    yield own
    own.stop()
