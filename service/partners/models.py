"""The API shapes of partners and their uploads (tables: migration 0004)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

PARTNER_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=PARTNER_ID, description="the partner's slug, e.g. acme")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")


class PartnerKey(BaseModel):
    """Answered once, when the key is issued: the database keeps only its hash."""

    id: str
    name: str
    api_key: str
    key_issued_at: dt.datetime


class UploadResult(BaseModel):
    status: str = Field(description="loaded, failed, or duplicate")
    job_id: int = Field(description="the upload's job; for a duplicate, the first upload's")
    checksum: str
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    error: str | None = None


class Queued(BaseModel):
    status: str = "queued"
    job_id: int


class Attempt(BaseModel):
    attempt: int = Field(description="1 for a job's first run; a requeue counts on")
    started_at: dt.datetime
    finished_at: dt.datetime | None = Field(description="none: still running, or its worker died")
    outcome: str | None = Field(description="loaded, failed, pending (retried), error (retried)")
    error: str | None = Field(description="the attempt's error, one line")


class Job(BaseModel):
    job_id: int
    partner: str
    status: str = Field(description="received, queued, loaded, failed or pending")
    queue_status: str | None = Field(description="the queue's state (async jobs only)")
    attempts: int | None
    rows_loaded: int | None
    rows_rejected: int | None
    error: str | None
    received_at: dt.datetime
    finished_at: dt.datetime | None
    attempt_log: list[Attempt] = Field(
        default_factory=list, description="GET /partner/jobs/{id}: each attempt with its error"
    )


class Upload(BaseModel):
    job_id: int
    checksum: str
    content_type: str
    size_bytes: int
    source_file: str | None = Field(
        None, description="the landing file of a feed polled from the folder; none: an HTTP upload"
    )
    status: str
    rows_loaded: int | None
    rows_rejected: int | None
    error: str | None
    received_at: dt.datetime
    finished_at: dt.datetime | None


class StoredFeed(NamedTuple):
    """What the worker needs of a stored upload to run it."""

    partner: str
    content_type: str
    content: bytes
    source_file: str | None
