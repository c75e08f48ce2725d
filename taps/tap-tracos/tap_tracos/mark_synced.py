"""tracos-mark-synced: acknowledge what target-client-json durably wrote.

target-client-json appends one journal line per file it wrote (after the file is
fsynced). This command takes the journal aside (rename to `<journal>.acking-<ts>`), sets
`isSynced=true, syncedAt=now` only on documents whose `updatedAt` still equals the
exported version, and deletes the taken journal when Mongo confirmed it.

- An edit made after the export changed `updatedAt`: the filter does not match, the
  document stays unsynced and the next outbound run exports it again.
- A crash anywhere leaves the journal (or its taken copy) in place; the next run
  processes it again. The update is idempotent, so delivery is at least once and an
  acknowledgement is never lost.

Journal entries carry the exported key and version (`key`, `version`); for work orders
they are the TracOS `number` and `updatedAt` (the mapper keeps them as orderNo and
lastUpdateDate).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from connector_kit import logs
from connector_kit.logs import kv, summary
from connector_kit.mongo import Mongo, MongoUnavailableError
from connector_kit.remote import folder_of, local_path
from pymongo import UpdateOne

log = logging.getLogger("tracos-mark-synced")
BATCH = 1000


def _setting(name: str, *fallbacks: str) -> str | None:
    for var in (f"TRACOS_MARK_SYNCED_{name.upper()}", *fallbacks):
        if os.environ.get(var):
            return os.environ[var]
    return None


def take_journal(journal: Path) -> list[Path]:
    """Earlier taken copies first (a crashed acknowledgement), then the current journal."""
    pending = sorted(journal.parent.glob(journal.name + ".acking-*"))
    if journal.exists():
        taken = journal.with_name(f"{journal.name}.acking-{time.time_ns()}")
        os.replace(journal, taken)
        pending.append(taken)
    return pending


class LocalJournal:
    """The journal file in a local folder, taken aside by an atomic rename."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def folder_exists(self) -> bool:
        return self.path.parent.is_dir()

    def take(self) -> list[str]:
        return [str(taken) for taken in take_journal(self.path)]

    def lines(self, taken: str) -> Iterator[str]:
        with Path(taken).open(encoding="utf-8") as fh:
            yield from fh

    def done(self, taken: str) -> None:
        Path(taken).unlink()


class RemoteJournal:
    """A journal in a store (s3://, sftp://): target-client-json writes one object per batch
    (`<journal>.seg-<ns>`, connector_kit.remote); each is deleted once Mongo confirmed it.
    Objects written while an acknowledgement runs are not in its listing: the next run takes
    them."""

    def __init__(self, url: str) -> None:
        self.folder, self.name = folder_of(url)

    def folder_exists(self) -> bool:
        return self.folder.exists()

    def take(self) -> list[str]:
        return self.folder.segments(self.name)

    def lines(self, taken: str) -> Iterator[str]:
        with self.folder.fs.open(taken, "rt", encoding="utf-8") as fh:
            yield from fh

    def done(self, taken: str) -> None:
        self.folder.fs.rm_file(taken)


Journal = LocalJournal | RemoteJournal


def open_journal(location: str) -> Journal:
    """A plain path or file:// URL is the local journal; any other URL one in a store."""
    path = local_path(location)
    return LocalJournal(path) if path is not None else RemoteJournal(location)


def journal_entries(name: str, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            log.warning("journal line skipped %s", kv(journal=name, reason="torn or corrupt line"))
            continue
        if entry.get("key") is None or entry.get("version") is None:
            log.warning("journal line skipped %s", kv(journal=name, reason="no key or version"))
            continue
        yield entry


def acknowledge(
    mongo: Mongo,
    *,
    collection: str,
    journal: Journal,
    key: str,
    version: str,
    synced_flag: str,
) -> dict[str, int]:
    target = mongo.database[collection]
    now = dt.datetime.now(dt.UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    totals = {"exported": 0, "synced": 0}
    for taken in journal.take():
        ops: list[UpdateOne] = []
        for entry in journal_entries(PurePosixPath(str(taken)).name, journal.lines(taken)):
            exported = dt.datetime.fromisoformat(entry["version"])
            ops.append(
                UpdateOne(
                    {key: entry["key"], version: exported, synced_flag: {"$ne": True}},
                    {"$set": {synced_flag: True, "syncedAt": now}},
                )
            )
        for start in range(0, len(ops), BATCH):
            batch = ops[start : start + BATCH]
            result = mongo.call("mark synced", target.bulk_write, batch, ordered=False)
            totals["exported"] += len(batch)
            totals["synced"] += result.modified_count
        journal.done(taken)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tracos-mark-synced", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", nargs="?", default="ack", choices=["ack"])
    parser.add_argument("--mongo-uri", default=_setting("mongo_uri", "MONGO_URI"))
    outbound = _setting("outbound_dir", "DATA_OUTBOUND_DIR")
    default_journal = _setting("journal_path") or (
        f"{outbound.rstrip('/')}/.written.jsonl" if outbound else None
    )
    parser.add_argument(
        "--journal", default=default_journal, help="default: $DATA_OUTBOUND_DIR/.written.jsonl"
    )
    parser.add_argument("--collection", default=_setting("collection") or "workorders")
    parser.add_argument("--retry-attempts", type=int, default=int(_setting("retry_attempts") or 6))
    parser.add_argument(
        "--server-selection-timeout-ms",
        type=int,
        default=int(_setting("server_selection_timeout_ms") or 5000),
    )
    args = parser.parse_args(argv)
    logs.configure()
    if not args.mongo_uri or not args.journal:
        log.error(
            "configuration missing %s",
            kv(need="MONGO_URI and DATA_OUTBOUND_DIR (or --mongo-uri, --journal)"),
        )
        return 2
    try:
        journal = open_journal(args.journal)
        found = journal.folder_exists()
    except OSError as error:  # a store out of reach or refusing us (an sftp host key unknown)
        logs.failure(log, "journal unreachable, kept for the next run", error)
        return 1
    if not found:  # a path that disagrees with the target's
        log.error(
            "journal folder missing, nothing can be acknowledged %s",
            kv(
                journal=args.journal,
                check="journal_path must be the one target-client-json writes "
                "(both default to $DATA_OUTBOUND_DIR/.written.jsonl)",
            ),
        )
        return 2
    mongo = Mongo(
        args.mongo_uri,
        attempts=args.retry_attempts,
        server_selection_timeout_ms=args.server_selection_timeout_ms,
        logger=log,
    )
    started = time.perf_counter()
    try:
        totals = acknowledge(
            mongo,
            collection=args.collection,
            journal=journal,
            key="number",
            version="updatedAt",
            synced_flag="isSynced",
        )
    except MongoUnavailableError as error:
        log.error("tracos unavailable, journal kept for the next run %s", kv(error=error))
        return 1
    except OSError as error:  # a store's journal out of reach (credentials, network)
        logs.failure(log, "journal unreadable, kept for the next run", error)
        return 1
    finally:
        mongo.close()
    # bookkeeping of the export, not data moved: no counts the run report adds up
    summary(
        log,
        **totals,
        skipped_edited_or_already_synced=totals["exported"] - totals["synced"],
        seconds=round(time.perf_counter() - started, 2),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
