"""Dead-letter replay: send rejected records back through the same target, as configured today.

    python -m ops.replay glassdome            # every dead letter of the flow
    python -m ops.replay warehouse --ids ID   # chosen entries (ids as `--list` prints them)
    meltano invoke ops:replay tracos          # the same, as a meltano utility command

The records go to the flow's target through `meltano invoke <target>` (today's settings
of the active environment), with the target's dead-letter output pointed at a scratch
file for the run. Then, in the flow's dead-letter file:
- what was delivered moves to `<name>.replayed.jsonl` with the replay's result;
- what still fails stays, with the new reason (and when it was first rejected);
- the replay is saved under reports/ like a sync run (job `replay-<flow>`).
A replayed entry leaves the file, so a second replay sends nothing twice; a replay that
stopped before the file was rewritten sends its records again, which every target
upserts (same end state).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector_kit import logs

from ops.report import JobReport, RunReport

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MELTANO = str(Path(sys.executable).with_name("meltano"))
log = logging.getLogger("ops.replay")


@functools.cache
def warehouse_catalog() -> dict[str, Any]:
    """tap-mes-bulk's committed catalog: the warehouse streams' schemas and keys."""
    catalog: dict[str, Any] = json.loads(
        (PROJECT_ROOT / "meltano/catalogs/tap-mes.warehouse.json").read_text()
    )
    return catalog


@dataclass(frozen=True)
class Flow:
    """One target's dead letters: where the target keeps them and how to read them back."""

    name: str
    target: str
    default_stream: str
    file_name: str  # in DEAD_LETTER_DIR when the target's config names no file
    path_setting: str  # the target's setting for its dead letters: a file or a folder
    aliases: tuple[str, ...] = ()

    def schema(self, stream: str) -> tuple[dict[str, Any], list[str]]:
        """The stream's SCHEMA as the flow sends it to the target, and its key."""
        if self.name == "glassdome":
            from map_mes_glassdome.translation import PRODUCT_SCHEMA

            return PRODUCT_SCHEMA, ["id"]
        if self.name == "tracos":
            from map_erp_tracos.work_orders import TRACOS_SCHEMA

            return TRACOS_SCHEMA, ["number"]
        for entry in warehouse_catalog()["streams"]:
            if entry["tap_stream_id"] == stream:
                top = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
                return entry["schema"], list(top.get("table-key-properties") or [])
        raise ReplayError(f"stream {stream!r} is not in the warehouse catalog")


FLOWS = (
    Flow("glassdome", "target-glassdome", "products", "glassdome.jsonl", "dead_letter_path"),
    Flow(
        "warehouse",
        "target-postgres",
        "",
        "warehouse.jsonl",
        "dead_letter_path",
        ("target-postgres", "mes-warehouse"),
    ),
    Flow(
        "tracos",
        "target-tracos",
        "workorders",
        "target-tracos.jsonl",
        "dead_letter_dir",
        ("target-tracos", "tracos-inbound"),
    ),
)


class ReplayError(Exception):
    """A replay that could not run; nothing in the dead-letter file was changed."""


def flow_named(name: str) -> Flow:
    for flow in FLOWS:
        if name in (flow.name, *flow.aliases):
            return flow
    raise ReplayError(f"unknown flow {name!r}; known: {', '.join(f.name for f in FLOWS)}")


def entry_id(entry: dict[str, Any]) -> str:
    """A stable id of one dead-letter entry (its content; a kept entry gets a new one)."""
    canonical = json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def read_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def meltano_env() -> dict[str, str]:
    env = {
        **os.environ,
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.setdefault("CONNECTOR_RUN_ID", logs.RUN_ID)
    return env


def target_config(flow: Flow, env: dict[str, str]) -> dict[str, Any]:
    """The target's settings as meltano resolves them in the active environment."""
    done = subprocess.run(
        [MELTANO, "invoke", "--dump=config", flow.target],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ReplayError(f"{flow.target} config: {done.stderr.strip().splitlines()[-1:]}")
    config: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{") :])
    return config


def dead_letter_file(flow: Flow, config: dict[str, Any], env: dict[str, str]) -> Path:
    """Where the target writes its dead letters (the same rule as the target's own)."""
    configured = config.get(flow.path_setting)
    folder = env.get("DEAD_LETTER_DIR") or "output/dead-letter"
    if flow.path_setting == "dead_letter_dir":
        path = Path(configured or folder) / flow.file_name
    else:
        path = Path(configured or Path(folder) / flow.file_name)
    return path if path.is_absolute() else PROJECT_ROOT / path


def default_file(flow: Flow) -> Path:
    """The flow's dead-letter file when its target's config names none (DEAD_LETTER_DIR)."""
    folder = Path(os.environ.get("DEAD_LETTER_DIR") or PROJECT_ROOT / "output/dead-letter")
    return folder / flow.file_name


def archive_file(path: Path) -> Path:
    return path.with_name(f"{path.stem}.replayed.jsonl")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One replay of a dead-letter file at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.replay.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass
class Outcome:
    flow: str
    selected: int = 0
    delivered: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    report: Path | None = None

    def line(self) -> str:
        return logs.kv(
            flow=self.flow,
            selected=self.selected,
            delivered=len(self.delivered),
            kept=len(self.kept),
            report=self.report or "-",
        )


def singer_messages(flow: Flow, entries: list[dict[str, Any]]) -> str:
    lines, schemas = [], set()
    for entry in entries:
        stream = entry.get("stream") or flow.default_stream
        if stream not in schemas:
            schema, key = flow.schema(stream)
            message = {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": key}
            lines.append(json.dumps(message))
            schemas.add(stream)
        lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": entry["record"]}))
    return "\n".join(lines) + "\n"


def record_key(flow: Flow, entry: dict[str, Any]) -> str:
    """Which dead letter a new rejection is about: its stream and key (else the record)."""
    stream = entry.get("stream") or flow.default_stream
    record = entry.get("record")
    _, key = flow.schema(stream)
    if isinstance(record, dict) and key and all(record.get(k) is not None for k in key):
        return json.dumps([stream, [str(record[k]) for k in key]])
    return json.dumps([stream, record], sort_keys=True, default=str)


def replay(name: str, ids: list[str] | None = None, env: dict[str, str] | None = None) -> Outcome:
    """Replay a flow's dead letters (all, or the given entry ids); see the module doc."""
    flow = flow_named(name)
    env = env or meltano_env()
    path = dead_letter_file(flow, target_config(flow, env), env)
    outcome = Outcome(flow.name)
    with locked(path):
        entries = read_entries(path)
        wanted = set(ids) if ids else None
        chosen = [e for e in entries if wanted is None or entry_id(e) in wanted]
        outcome.selected = len(chosen)
        if not chosen:
            log.info("nothing to replay %s", outcome.line())
            return outcome
        started = dt.datetime.now(dt.UTC)
        clock = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="replay-") as scratch:
            rejected_file = Path(scratch) / flow.file_name
            setting_var = f"{flow.target}_{flow.path_setting}".upper().replace("-", "_")
            run_env = {
                **env,
                setting_var: scratch
                if flow.path_setting == "dead_letter_dir"
                else str(rejected_file),
            }
            done = subprocess.run(
                [MELTANO, "invoke", flow.target],
                input=singer_messages(flow, chosen),
                cwd=PROJECT_ROOT,
                env=run_env,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
            still_failing = read_entries(rejected_file)
        seconds = time.perf_counter() - clock
        if done.returncode != 0 and not still_failing:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise ReplayError(f"{flow.target} failed (exit {done.returncode}):\n{tail}")
        new_reasons = {record_key(flow, e): e for e in still_failing}
        now = dt.datetime.now(dt.UTC).isoformat()
        run_id = uuid.uuid4().hex[:12]
        for entry in chosen:
            again = new_reasons.get(record_key(flow, entry))
            if again is None:
                outcome.delivered.append(
                    {**entry, "result": "delivered", "replayed_at": now, "replay_run_id": run_id}
                )
            else:
                outcome.kept.append(
                    {
                        **again,
                        "first_rejected_at": entry.get("first_rejected_at")
                        or entry.get("rejected_at"),
                        "replays": int(entry.get("replays") or 0) + 1,
                    }
                )
        # Archive first: a stop between the two writes sends the delivered ones again
        # (the targets upsert), never loses them.
        if outcome.delivered:
            with archive_file(path).open("a", encoding="utf-8") as fh:
                for entry in outcome.delivered:
                    fh.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        chosen_ids = {entry_id(e) for e in chosen}
        # Re-read: a run of the flow may have added entries meanwhile.
        rest = [e for e in read_entries(path) if entry_id(e) not in chosen_ids]
        partial = path.with_name(f".{path.name}.partial")
        with partial.open("w", encoding="utf-8") as fh:
            for entry in [*rest, *outcome.kept]:
                fh.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
        summaries = [s for line in done.stderr.splitlines() if (s := logs.parse_summary(line))]
        job = JobReport.from_summaries(f"replay-{flow.name}", done.returncode, seconds, summaries)
        job.read = len(chosen)  # the replay is the reading side: what it sent
        report = RunReport(
            run_id, env.get("MELTANO_ENVIRONMENT") or "dev", started.isoformat(), [job]
        )
        folder = env.get("REPORTS_DIR")
        outcome.report = report.save(Path(folder) if folder else None)
    log.info("replayed %s", outcome.line())
    return outcome


def listing(name: str) -> list[dict[str, Any]]:
    """The flow's dead letters with their ids (what `--ids` takes)."""
    flow = flow_named(name)
    env = meltano_env()
    path = dead_letter_file(flow, target_config(flow, env), env)
    return [{"id": entry_id(e), **e} for e in read_entries(path)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.replay", description=__doc__)
    parser.add_argument(
        "flow", help="glassdome, warehouse (target-postgres), tracos (target-tracos)"
    )
    parser.add_argument("--ids", nargs="+", default=None, help="entry ids (default: every entry)")
    parser.add_argument("--list", action="store_true", help="print the entries with their ids")
    args = parser.parse_args(argv)
    logs.configure()
    try:
        if args.list:
            for entry in listing(args.flow):
                print(json.dumps(entry, default=str, ensure_ascii=False))
            return 0
        outcome = replay(args.flow, args.ids)
    except ReplayError as error:
        log.error("replay failed %s", logs.kv(flow=args.flow, reason=str(error)))
        return 2
    print(
        f"{outcome.flow}: {outcome.selected} selected, {len(outcome.delivered)} delivered,"
        f" {len(outcome.kept)} still failing"
    )
    return 0 if not outcome.kept else 1


if __name__ == "__main__":
    sys.exit(main())
