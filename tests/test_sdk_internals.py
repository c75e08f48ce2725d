"""Guards for the few singer-sdk internals we still rely on (docs/sdk-internals.md).

Each test fails loudly when an SDK upgrade changes what our override or call depends on:
then re-read the SDK's code, adapt the override (or drop it for a new public way), and
update docs/sdk-internals.md.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import typing as t

import pytest
from map_mes_glassdome.mapper import BatchMessage
from singer_sdk import Target
from singer_sdk.helpers._batch import SDKBatchMessage
from singer_sdk.sql import SQLStream
from tap_mes.client import MesStream
from tap_mes.streams import ProductionOrdersStream, query_stream_type
from tap_mes.tap import TapMes
from target_glassdome.target import TargetGlassdome

# sha256 of the SDK's own Target._process_batch_message, which TargetGlassdome replaces
# entirely. Changed: compare the new body with ours (target_glassdome/target.py) first.
SDK_PROCESS_BATCH_SHA256 = "f26fbe519745daf2e9fb9c01ca01030aaa7549a97210ffa51a7003a8fcdb24cc"


def params(function: t.Callable[..., t.Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_target_dispatches_record_and_batch_lines_to_the_methods_we_override() -> None:
    """TargetGlassdome overrides `_process_record_message`/`_process_batch_message`: the
    SDK must still call them, by these names, with the message dict, for every line."""
    assert params(Target._process_record_message) == ["self", "message_dict"]
    assert params(Target._process_batch_message) == ["self", "message_dict"]
    seen: list[tuple[str, dict]] = []

    class Recording(TargetGlassdome):
        def _process_record_message(self, message_dict: dict) -> None:
            seen.append(("RECORD", message_dict))

        def _process_batch_message(self, message_dict: dict) -> None:
            seen.append(("BATCH", message_dict))

        def process_endofpipe(self) -> None:
            pass

    target = Recording(
        config={"api_url": "http://127.0.0.1:9", "api_key": "k"}, parse_env_config=False
    )
    batch = {
        "type": "BATCH",
        "stream": "products",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": ["file:///nowhere.jsonl.gz"],
    }
    record = {"type": "RECORD", "stream": "products", "record": {"id": "MAT-1"}}
    target.listen(io.StringIO(json.dumps(record) + "\n" + json.dumps(batch) + "\n"))
    assert [kind for kind, _ in seen] == ["RECORD", "BATCH"]
    assert seen[1][1]["encoding"] == {"format": "jsonl", "compression": "gzip"}


def test_sdk_batch_handler_is_the_one_our_override_replaces() -> None:
    """Our `_process_batch_message` replaces the SDK's whole body (stream maps, then
    `_handle_max_record_age`, which our drain at the start of each BATCH makes redundant).
    A new SDK body may do more: review the override before updating this hash."""
    source = inspect.getsource(Target._process_batch_message)
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert "_handle_max_record_age" in source
    assert "stream_maps" in source
    assert digest == SDK_PROCESS_BATCH_SHA256, digest


def test_drain_all_still_emits_the_latest_state() -> None:
    """`_process_record_message` relies on `drain_all()` writing the latest STATE."""
    assert "_write_state_message" in inspect.getsource(Target.drain_all)
    assert params(Target.drain_all) == ["self", "is_endofpipe"]


def test_batch_message_line_matches_the_sdks() -> None:
    """The mapper's own BATCH message writes the line the SDK's private class writes."""
    encoding = {"format": "jsonl", "compression": "gzip"}
    ours = BatchMessage(stream="products", encoding=encoding, manifest=["file:///a.jsonl.gz"])
    sdk = SDKBatchMessage.from_dict(  # type: ignore[arg-type]
        {"type": "BATCH", "stream": "products", "encoding": dict(encoding)}
        | {"manifest": ["file:///a.jsonl.gz"]}
    )
    assert ours.to_dict() == sdk.to_dict()


def test_starting_replication_value_is_what_the_bulk_read_needs() -> None:
    """tap-mes bulk mode calls `_write_starting_replication_value` (the SDK's batch sync
    skips it) and then writes the bookmark into `get_context_state`: both must keep
    meaning what they mean for the record path."""
    assert params(SQLStream._write_starting_replication_value) == ["self", "context"]
    bookmark = "2026-01-02T03:04:05+00:00"
    state = {
        "bookmarks": {
            "production_orders": {
                "replication_key": "updated_at",
                "replication_key_value": bookmark,
            }
        }
    }
    tap = TapMes(
        config={"sqlalchemy_url": "postgresql://mes@127.0.0.1:9/mes"},
        state=state,
        parse_env_config=False,
    )
    stream = tap.streams["production_orders"]
    stream._write_starting_replication_value(None)
    assert stream.get_starting_replication_key_value(None) == bookmark
    context_state = stream.get_context_state(None)
    assert context_state["replication_key_value"] == bookmark
    context_state["replication_key_value"] = "2026-02-01T00:00:00+00:00"  # bulk.py's write
    assert tap.state["bookmarks"]["production_orders"]["replication_key_value"] == (
        "2026-02-01T00:00:00+00:00"
    )


def test_stream_name_is_inherited_by_a_subclass() -> None:
    class LateOrders(ProductionOrdersStream):
        """Declares no name of its own."""

    assert LateOrders.stream_name() == "production_orders"
    assert LateOrders.catalog_entry_dict()["tap_stream_id"] == "production_orders"
    configured = query_stream_type({"name": "q", "sql": "select 1", "properties": {}})
    assert configured.stream_name() == "q"


def test_stream_name_missing_everywhere_is_a_clear_error() -> None:
    class Nameless(MesStream):
        pass

    with pytest.raises(TypeError, match="Nameless declares no stream name"):
        Nameless.stream_name()


def test_a_sink_needs_only_the_sinkhost_members_of_its_target() -> None:
    """connector_kit.sinks.SinkHost names what the SDK's Sink.__init__ reads of its target;
    our sinks are typed against it (plus their own needs) and built on any such object."""
    import logging
    import time

    from connector_kit.sinks import sdk_target
    from singer_sdk.sinks import BatchSink

    class Host:
        logger = logging.getLogger("sink-host")
        initialized_at = int(time.time() * 1000)
        config: t.ClassVar[dict[str, t.Any]] = {"batch_size_rows": 7}

    class Sink(BatchSink):
        def process_batch(self, context: dict) -> None:
            pass

    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    sink = Sink(sdk_target(Host()), "s", schema, ["id"])
    assert sink.config["batch_size_rows"] == 7
    assert sink.max_size == 7
