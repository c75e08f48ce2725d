"""TargetGlassdome: products into the Glassdome API (POST new, PATCH changed, skip unchanged)."""

from __future__ import annotations

import typing as t
from functools import cached_property

from connector_kit import batches, logs, retry
from connector_kit.config_files import run_cli
from connector_kit.deadletter import DeadLetters, rejects_exit_code
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from target_glassdome.client import MAX_BATCH, GlassdomeClient, request_size
from target_glassdome.delivery import Delivery
from target_glassdome.sinks import DeliveryHost, ProductsSink


class TargetGlassdome(Target):
    """Writes every incoming stream as Glassdome products `{id, sku, status}`."""

    name = "target-glassdome"
    default_sink_class = ProductsSink
    message_reader_class = MsgSpecReader  # measurably faster JSON lines than the stdlib

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            required=True,
            title="API URL",
            description="Glassdome API base URL, e.g. https://glassdome.example.com.",
        ),
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="Sent as X-API-Key; it selects the company. Never logged.",
        ),
        th.Property(
            "request_size",
            th.IntegerType,
            default=MAX_BATCH,
            title="Request size",
            description=f"Products per POST/PATCH request (1..{MAX_BATCH}).",
        ),
        th.Property("batch_size", th.IntegerType, description="Deprecated: request_size."),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=4,
            title="Max concurrency",
            description="Requests in flight at once (one keep-alive connection each).",
        ),
        th.Property(
            "retry_attempts",
            th.IntegerType,
            default=8,
            title="Retry attempts",
            description="Tries per request for 5xx, 429, timeouts and resets.",
        ),
        th.Property(
            "retry_initial_wait",
            th.NumberType,
            default=0.2,
            title="Initial backoff (s)",
            description="First backoff; it grows exponentially with jitter.",
        ),
        th.Property(
            "retry_max_wait",
            th.NumberType,
            default=30.0,
            title="Max backoff (s)",
            description="Cap on one backoff; a longer Retry-After still wins.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=30.0,
            title="Request timeout (s)",
            description="Per request; a timeout is retried.",
        ),
        th.Property(
            "dead_letter_path",
            th.StringType,
            title="Dead-letter file",
            description="JSONL file receiving each rejected record with its reason. "
            "Default: glassdome.jsonl in $DEAD_LETTER_DIR or ./output/dead-letter.",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            title="Validate records",
            description="Full JSON-schema validation of each record (slow; Glassdome's own "
            "rules are always checked).",
        ),
        th.Property(
            "clean_up_batch_files",
            th.BooleanType,
            default=True,
            title="Clean up BATCH files",
            description="Delete each BATCH file once every product in it is written.",
        ),
        th.Property(
            "fail_on_rejects",
            th.BooleanType,
            default=True,
            title="Fail on rejects",
            description="Exit non-zero when any record was rejected (after delivering the rest).",
        ),
    ).to_dict()

    @override
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        logs.register_secret(str(self.config.get("api_key", "")))
        size = request_size(self.config)
        if not 1 <= size <= MAX_BATCH:
            name = "batch_size" if self.config.get("batch_size") else "request_size"
            msg = f"{name} must be 1..{MAX_BATCH}, got {size}"
            raise ConfigValidationError(msg, errors=[msg])
        if int(self.config.get("max_concurrency", 4)) < 1:
            msg = "max_concurrency must be >= 1"
            raise ConfigValidationError(msg, errors=[msg])

    @cached_property
    def delivery(self) -> Delivery:
        config = self.config
        concurrency = int(config.get("max_concurrency", 4))
        client = GlassdomeClient(
            str(config["api_url"]),
            str(config["api_key"]),
            pool_size=concurrency,
            timeout=float(config.get("request_timeout", 30.0)),
            retry_policy=lambda: retry.policy(
                attempts=int(config.get("retry_attempts", 8)),
                initial_wait=float(config.get("retry_initial_wait", 0.2)),
                max_wait=float(config.get("retry_max_wait", 30.0)),
                on_retry=client.count_retry,
                logger=self.logger,
            ),
        )
        return Delivery(
            client,
            DeadLetters.for_plugin("glassdome.jsonl", path=config.get("dead_letter_path")),
            batch_size=request_size(config),
            max_concurrency=concurrency,
        )

    # The two overrides below use SDK internals with no public hook yet (guarded by
    # tests/test_sdk_internals.py; see docs/sdk-internals.md).
    @override
    def _process_record_message(self, message_dict: dict) -> None:
        super()._process_record_message(message_dict)
        # The SDK emits STATE only at the end of input (or every 5 minutes). Once a full batch
        # is written, every record before the latest STATE is in Glassdome: emit it now, so a
        # killed run resumes close to where it stopped.
        delivery = self.__dict__.get("delivery")
        if delivery is not None and delivery.batch_written:
            delivery.batch_written = False
            self.drain_all()

    @override
    def _process_batch_message(self, message_dict: dict) -> None:
        # Everything before this message is written (earlier files completely, see the sink):
        # flush pending RECORDs and emit the latest STATE, so a killed run resumes from here.
        self.drain_all()
        # The SDK hands BATCH files to the sinks without the stream maps: apply them, as to
        # RECORDs. The SDK's `_handle_max_record_age()` is not called: the drain above already
        # ran at this message, and nothing is pending after the files, so it could only
        # drain empty sinks and repeat the same STATE.
        encoding = message_dict["encoding"]  # a plain dict: connector_kit.batches reads it
        manifest = message_dict["manifest"]
        for stream_map in self.mapper.stream_maps[message_dict["stream"]]:
            sink = t.cast(ProductsSink, self.get_sink(stream_map.stream_alias))
            sink.process_batch_files(encoding, manifest, transform=stream_map.transform)
        if self.config.get("clean_up_batch_files", True):
            for url in manifest:
                batches.local_path(url).unlink(missing_ok=True)

    @override
    def _write_state_message(self, state: dict) -> None:
        # A sku claim still waiting (its holder may move later in the input) is not written
        # yet: no STATE past it until it is decided.
        delivery = self.__dict__.get("delivery")
        if delivery is not None and delivery.undecided:
            return
        super()._write_state_message(state)

    @override
    def process_endofpipe(self) -> None:
        if "delivery" in self.__dict__:
            self.drain_all()
            self.delivery.end_of_input()  # the claims still waiting lose: before the summary
        super().process_endofpipe()
        if "delivery" not in self.__dict__:
            return
        self.delivery.close()
        if code := rejects_exit_code(
            self.delivery.rejected,
            self.config.get("fail_on_rejects", True),
            self.logger,
            dead_letter=self.delivery.dead_letters.path,
        ):
            raise SystemExit(code)


def _hosts_its_sinks(target: TargetGlassdome) -> DeliveryHost:
    return target  # mypy checks here that the target has what its sinks use


def main() -> None:
    """Console entry point (`target-glassdome --config file.yaml`)."""
    run_cli(TargetGlassdome.cli)


if __name__ == "__main__":
    main()
