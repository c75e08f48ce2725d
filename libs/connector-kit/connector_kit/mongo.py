"""A MongoDB connection whose calls run under the retry policy (needs the `mongo` extra)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pymongo
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
        "retry_max_wait_s",
        th.NumberType,
        default=10.0,
        title="Longest retry wait (s)",
        description="Cap of the backoff between attempts.",
    ),
)


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
            max_wait=float(config.get("retry_max_wait_s", 10.0)),
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

    def close(self) -> None:
        self.client.close()
