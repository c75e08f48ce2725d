"""Upserts into a TracOS collection: bulk_write(ordered=False) of guarded UpdateOne upserts.

The guard lives in the update filter: `{key: k, version: {$not: {$gte: new}}}` (stored
version older than the record's, or missing). A newer record matches and updates; an
older or equal one does not match, its upsert collides with the unique key index
(E11000) and is counted as unchanged. So an old file never overwrites newer data and
re-delivery changes nothing. (The equivalent `$or` of `$lt`/`$exists` made SecantusDB
scan the collection per upsert; `$not` keeps it on the key index.)
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import TYPE_CHECKING, Any, Protocol

from connector_kit.deadletter import DeadLetters
from connector_kit.logs import Progress, kv, summary
from connector_kit.mongo import Mongo, MongoUnavailableError, bson_problem
from connector_kit.sinks import SinkHost, sdk_target
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError
from singer_sdk.sinks import BatchSink
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Sequence

DUPLICATE_KEY = 11000


def bson_value(value: Any) -> Any:
    """Singer hands numbers over as Decimal and may hand naive datetimes; BSON wants neither."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if isinstance(value, dict):
        return {k: bson_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bson_value(v) for v in value]
    return value


class TracosHost(SinkHost, Protocol):
    """What an UpsertSink uses of its target: the run's one TracOS connection."""

    @property
    def tracos(self) -> Mongo: ...


class StreamKeyError(Exception):
    """A stream target-tracos cannot upsert: it needs exactly one key property."""


class UpsertSink(BatchSink):
    """One stream into the collection of the same name (or as `collections` maps it)."""

    def __init__(
        self,
        target: TracosHost,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(sdk_target(target), stream_name, schema, key_properties)
        if not key_properties or len(key_properties) != 1:
            raise StreamKeyError(
                f"stream {stream_name} needs exactly one key property, got {key_properties}"
            )
        self.key = key_properties[0]
        # the old setting names (version_field, unsynced_flag) still read, deprecated
        self.version = (
            self.config.get("version_field") or self.config.get("version_property") or "updatedAt"
        )
        self.synced_flag = (
            self.config.get("unsynced_flag") or self.config.get("synced_flag") or "isSynced"
        )
        self.tracos = target.tracos
        name = (self.config.get("collections") or {}).get(stream_name, stream_name)
        self.collection = self.tracos.database[name]
        self.tracos.call(
            "ensure unique index",
            lambda: self.collection.create_index([(self.key, ASCENDING)], unique=True),
        )
        self.dead_letters = DeadLetters.for_plugin(
            "target-tracos.jsonl", folder=self.config.get("dead_letter_dir")
        )
        self.max_bson_size = self.tracos.max_bson_size()
        self.totals = {"received": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        self.progress = Progress(self.logger, stream=self.stream_name)

    MAX_SIZE_DEFAULT = 1000  # records per bulk_write: the SDK's batch_size_rows

    @property
    @override
    def max_size(self) -> int:
        # batch_size_rows, else its old name batch_size (deprecated)
        return self.batch_size_rows or int(self.config.get("batch_size") or self.MAX_SIZE_DEFAULT)

    def _reject(self, record: dict[str, Any], reason: str) -> None:
        self.dead_letters.add(record, reason, stream=self.stream_name)
        self.totals["rejected"] += 1
        self.logger.error(
            "record rejected %s",
            kv(stream=self.stream_name, key=record.get(self.key), reason=reason),
        )

    def _operations(
        self, records: list[dict[str, Any]]
    ) -> tuple[list[UpdateOne], list[dict[str, Any]]]:
        newest: dict[Any, dict[str, Any]] = {}
        for record in records:
            doc = bson_value(record)
            if doc.get(self.key) is None or doc.get(self.version) is None:
                self._reject(record, f"missing {self.key} or {self.version}")
                continue
            problem = bson_problem({**doc, self.synced_flag: False}, self.max_bson_size)
            if problem:  # one value Mongo cannot hold must not fail the batch's bulk_write
                self._reject(record, problem)
                continue
            kept = newest.get(doc[self.key])
            if kept is not None:
                self.totals["unchanged"] += 1  # two copies in one batch: only the newer is written
            if kept is None or kept[self.version] < doc[self.version]:
                newest[doc[self.key]] = doc
        docs = list(newest.values())
        ops = [
            UpdateOne(
                {self.key: doc[self.key], self.version: {"$not": {"$gte": doc[self.version]}}},
                {"$set": {**doc, self.synced_flag: False}},
                upsert=True,
            )
            for doc in docs
        ]
        return ops, docs

    def _write(self, ops: list[UpdateOne]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        try:
            return dict(self.collection.bulk_write(ops, ordered=False).bulk_api_result), []
        except BulkWriteError as error:
            if error.details.get("writeConcernErrors"):
                raise MongoUnavailableError(
                    f"write concern failed: {error.details['writeConcernErrors'][0]}"
                ) from error
            return dict(error.details), list(error.details.get("writeErrors", []))

    @override
    def process_batch(self, context: dict) -> None:
        records = context["records"]
        self.totals["received"] += len(records)
        self.progress.add(len(records))
        ops, docs = self._operations(records)
        if not ops:
            return
        result, errors = self.tracos.call("bulk upsert", self._write, ops)
        self.totals["inserted"] += int(result.get("nUpserted", 0))
        self.totals["updated"] += int(result.get("nModified", 0))
        self.totals["unchanged"] += int(result.get("nMatched", 0)) - int(result.get("nModified", 0))
        for failure in errors:
            if failure.get("code") == DUPLICATE_KEY:
                self.totals["unchanged"] += 1  # stored copy is as new or newer
            else:
                self._reject(
                    docs[failure["index"]], str(failure.get("errmsg", failure.get("code")))
                )

    @override
    def clean_up(self) -> None:
        self.progress.stop()
        summary(
            self.logger, stream=self.stream_name, collection=self.collection.name, **self.totals
        )
        super().clean_up()
