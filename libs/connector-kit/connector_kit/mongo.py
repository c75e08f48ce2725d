"""A MongoDB connection whose calls run under the retry policy (needs the `mongo` extra)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import bson
import pymongo
from bson.errors import BSONError
from pymongo.errors import ConnectionFailure, OperationFailure
from singer_sdk import typing as th

from connector_kit import logs, retry

T = TypeVar("T")
log = logging.getLogger("connector_kit.mongo")
# ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout, NotPrimaryError: ConnectionFailure.
TRANSIENT: tuple[type[BaseException], ...] = (ConnectionFailure,)


# The connection settings `Mongo.from_config` reads, declared once for every Mongo plugin.
SETTINGS = th.PropertiesList(
    th.Property(
        "mongo_uri",
        th.StringType,
        required=True,
        secret=True,
        title="MongoDB URI",
        description="TracOS MongoDB connection string (seed: MONGO_URI); "
        "its path names the database.",
    ),
    th.Property(
        "database",
        th.StringType,
        default="tractian",
        title="Database",
        description="Database when the URI names none.",
    ),
    th.Property(
        "server_selection_timeout_ms",
        th.IntegerType,
        default=5000,
        title="Server selection timeout (ms)",
        description="How long one attempt waits for a reachable Mongo.",
    ),
    th.Property(
        "retry_attempts",
        th.IntegerType,
        default=6,
        title="Retry attempts",
        description="Attempts per Mongo call (exponential backoff with jitter) before the "
        "run fails.",
    ),
    th.Property(
        "retry_max_wait",
        th.NumberType,
        default=10.0,
        title="Longest retry wait (s)",
        description="Cap of the backoff between attempts.",
    ),
    th.Property("retry_max_wait_s", th.NumberType, description="Deprecated: retry_max_wait."),
)


# What a server holds when it does not say (MongoDB's documented limit, 16 MiB).
MAX_BSON_SIZE = 16 * 1024 * 1024


def bson_problem(doc: Mapping[str, Any], max_size: int = MAX_BSON_SIZE) -> str | None:
    """Why Mongo cannot store this document, or None: the one rule for every value BSON holds.

    BSON integers are 64-bit, strings UTF-8 without lone surrogates, keys free of NUL, and a
    document at most `max_size` bytes. Checked per record so one bad value is a rejected
    record, not a failed bulk write.
    """
    try:
        size = len(bson.encode(doc))
    except OverflowError:
        return "an integer is outside what MongoDB holds (64-bit, -2^63 to 2^63-1)"
    except (BSONError, ValueError, TypeError) as error:  # UnicodeEncodeError is a ValueError
        return f"not storable in MongoDB: {type(error).__name__}: {str(error)[:200]}"
    if size > max_size:
        return f"document of {size} bytes is over MongoDB's limit of {max_size} bytes"
    return None


class MongoUnavailableError(Exception):
    """Mongo stayed unreachable through every attempt, or refused the operation."""


def describe(error: BaseException) -> str:
    """pymongo's messages carry the whole topology; keep the part a person reads."""
    text = str(error).split(" (configured timeouts")[0].split(", Timeout:")[0].splitlines()[0]
    return f"{type(error).__name__}: {text}"


class Mongo:
    def __init__(
        self,
        uri: str,
        *,
        default_database: str = "tractian",
        server_selection_timeout_ms: int = 5000,
        attempts: int = 6,
        max_wait: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        logs.register_secret(uri)
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=server_selection_timeout_ms
        )
        self.database = self.client.get_default_database(default_database)
        self.attempts = attempts
        self.max_wait = max_wait
        self.logger = logger or log

    @classmethod
    def from_config(cls, config: Mapping[str, Any], logger: logging.Logger | None = None) -> Mongo:
        """Build from a plugin's connection settings (mongo_uri, database, timeouts, retries)."""
        return cls(
            config["mongo_uri"],
            default_database=config.get("database") or "tractian",
            server_selection_timeout_ms=int(config.get("server_selection_timeout_ms", 5000)),
            attempts=int(config.get("retry_attempts", 6)),
            max_wait=float(config.get("retry_max_wait_s") or config.get("retry_max_wait", 10.0)),
            logger=logger,
        )

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn with backoff on connection faults; then raise MongoUnavailableError."""
        policy = retry.policy(
            attempts=self.attempts,
            initial_wait=0.5,
            max_wait=self.max_wait,
            retry_on=TRANSIENT,
            logger=self.logger,
            describe=describe,
        )
        try:
            return policy(fn, *args, **kwargs)
        except TRANSIENT as error:
            raise MongoUnavailableError(
                f"{what} failed after {self.attempts} attempts: {describe(error)}"
            ) from error
        except OperationFailure as error:
            raise MongoUnavailableError(
                f"{what} refused by the server: {describe(error)}"
            ) from error

    def ping(self) -> None:
        self.call("ping", self.database.command, "ping")

    def max_bson_size(self) -> int:
        """The largest document the server takes (its `hello` answer; 16 MiB when unsaid)."""
        hello = self.call("hello", self.database.command, "hello")
        return int(hello.get("maxBsonObjectSize") or MAX_BSON_SIZE)

    def close(self) -> None:
        self.client.close()
