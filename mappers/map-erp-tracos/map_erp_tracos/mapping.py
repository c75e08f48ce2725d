"""The one InlineMapper shape both directions share: translate records, pass state through."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from connector_kit.deadletter import DeadLetters
from connector_kit.logs import kv, summary
from singer_sdk import InlineMapper
from singer_sdk import typing as th
from singer_sdk.singerlib import (
    ActivateVersionMessage,
    Message,
    RecordMessage,
    SchemaMessage,
    StateMessage,
)
from typing_extensions import override

from map_erp_tracos.work_orders import UntranslatableError

log = logging.getLogger(__name__)


class WorkOrderMapper(InlineMapper):
    """Translates one work-order stream into another; untranslatable records become dead letters."""

    package_name = "map-erp-tracos"  # both executables ship in one package
    source_stream: ClassVar[str]
    target_stream: ClassVar[str]
    target_key: ClassVar[str]
    target_bookmark: ClassVar[str]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "dead_letter_dir",
            th.StringType,
            title="Dead-letter folder",
            description="Where untranslatable records go (JSONL with the reason). "
            "Default: $DEAD_LETTER_DIR or ./output/dead-letter.",
        ),
    ).to_dict()

    @override
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dead_letters = DeadLetters.for_plugin(
            f"{self.name}.jsonl", folder=self.config.get("dead_letter_dir")
        )
        self.translated = 0

    def _rename(self, stream: str) -> str:
        return self.target_stream if stream == self.source_stream else stream

    def target_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def translate(self, record: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @override
    def map_schema_message(self, message_dict: dict) -> Iterable[Message]:
        if message_dict["stream"] != self.source_stream:
            yield SchemaMessage.from_dict(message_dict)
            return
        yield SchemaMessage(
            stream=self.target_stream,
            schema=self.target_schema(),
            key_properties=[self.target_key],
            bookmark_properties=[self.target_bookmark],
        )

    @override
    def map_record_message(self, message_dict: dict) -> Iterable[Message]:
        if message_dict["stream"] != self.source_stream:
            yield RecordMessage.from_dict(message_dict)
            return
        record = message_dict["record"]
        try:
            translated = self.translate(record)
        except UntranslatableError as error:
            self.dead_letters.add(record, str(error), stream=self.source_stream, mapper=self.name)
            log.error(
                "record rejected %s",
                kv(mapper=self.name, reason=error, dead_letters=self.dead_letters.path),
            )
            return
        self.translated += 1
        extracted = message_dict.get("time_extracted")
        yield RecordMessage(
            stream=self.target_stream,
            record=translated,
            version=message_dict.get("version"),
            time_extracted=dt.datetime.fromisoformat(extracted) if extracted else None,
        )

    @override
    def map_state_message(self, message_dict: dict) -> Iterable[Message]:
        yield StateMessage(value=message_dict["value"])

    @override
    def process_endofpipe(self) -> None:
        summary(
            log,
            mapper=self.name,
            translated=self.translated,
            quarantined=self.dead_letters.count,
        )

    @override
    def map_activate_version_message(self, message_dict: dict) -> Iterable[Message]:
        yield ActivateVersionMessage(
            stream=self._rename(message_dict["stream"]), version=message_dict["version"]
        )
