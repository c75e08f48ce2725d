"""The base stream over a TracOS collection: unsynced documents, paged by key, resumable.

Pages are `key > last key seen`, sorted by the key (the unique index), so a connection
lost mid-stream is retried from the last page, not from the start, and no document is
held in memory beyond one page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from connector_kit.logs import summary
from connector_kit.mongo import Mongo
from singer_sdk import Stream
from singer_sdk.helpers.types import Context
from typing_extensions import override


def json_value(value: Any) -> Any:
    """BSON dates as UTC ISO 8601 text with milliseconds (what BSON holds)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return value


class UnsyncedDocumentsStream(Stream):
    collection_name: str
    key: str

    @cached_property
    def mongo(self) -> Mongo:
        """This stream's client, built from the tap's config (closed when the read ends)."""
        return Mongo.from_config(self.config, self.logger)

    def _page(self, after: Any, size: int) -> list[dict[str, Any]]:
        collection = self.mongo.database[self.config.get("collection") or self.collection_name]
        query: dict[str, Any] = {
            self.config.get("synced_flag", "isSynced"): {"$ne": True}
        }  # false or missing
        if after is not None:
            query[self.key] = {"$gt": after}
        cursor = collection.find(query, {"_id": False}).sort(self.key, 1).limit(size)
        return list(cursor)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        size = int(self.config.get("page_size", 1000))
        properties = self.schema["properties"]
        after, total = None, 0
        try:
            while True:
                page = self.mongo.call("read unsynced page", self._page, after, size)
                for doc in page:
                    total += 1
                    yield {name: json_value(doc.get(name)) for name in properties}
                if len(page) < size:
                    break
                after = page[-1][self.key]
        finally:
            self.mongo.close()
        summary(self.logger, stream=self.name, read=total)
