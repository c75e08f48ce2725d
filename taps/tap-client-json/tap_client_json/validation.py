"""The ERP work-order format: what a document must hold before it may leave the tap.

These are the ERP's own rules (field types, readable dates, one status at a time); how a
status translates into TracOS is the mapper's business.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

STATUS_FLAGS = ("isActive", "isCanceled", "isDone", "isOnHold", "isPending")
# A work order is in at most one of these states; isActive alone means "in progress".
EXCLUSIVE_FLAGS = ("isCanceled", "isDone", "isOnHold", "isPending")
REQUIRED_FLAGS = (*STATUS_FLAGS, "isDeleted")
REQUIRED_DATES = ("creationDate", "lastUpdateDate")


class InvalidWorkOrder(ValueError):
    """The message says what is wrong, for the quarantine `.reason` file and the log."""


def _check_date(doc: dict[str, Any], field: str, *, required: bool) -> None:
    value = doc.get(field)
    if value is None:
        if required:
            raise InvalidWorkOrder(f"missing field {field}")
        return
    if not isinstance(value, str):
        raise InvalidWorkOrder(f"{field} is not a string: {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidWorkOrder(f"{field} is not an ISO 8601 date: {value!r}") from None
    try:
        (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(
            dt.UTC
        )  # TracOS stores UTC: its instant must exist in years 1-9999
    except OverflowError:
        raise InvalidWorkOrder(f"{field} is out of the storable date range: {value!r}") from None


def validate(doc: Any) -> None:
    """Raise InvalidWorkOrder naming the first problem found."""
    if not isinstance(doc, dict):
        raise InvalidWorkOrder(f"a work order must be a JSON object, got {type(doc).__name__}")
    number = doc.get("orderNo")
    if number is None:
        raise InvalidWorkOrder("missing field orderNo")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise InvalidWorkOrder(f"orderNo is not a non-negative integer: {number!r}")
    for flag in REQUIRED_FLAGS:
        if flag not in doc:
            raise InvalidWorkOrder(f"missing field {flag}")
        if not isinstance(doc[flag], bool):
            raise InvalidWorkOrder(f"{flag} is not a boolean: {doc[flag]!r}")
    if "isSynced" in doc and not isinstance(doc["isSynced"], bool):
        raise InvalidWorkOrder(f"isSynced is not a boolean: {doc['isSynced']!r}")
    if not isinstance(doc.get("summary", ""), str | None):
        raise InvalidWorkOrder(f"summary is not a string: {doc['summary']!r}")
    for field in REQUIRED_DATES:
        _check_date(doc, field, required=True)
    _check_date(doc, "deletedDate", required=False)
    exclusive = [flag for flag in EXCLUSIVE_FLAGS if doc[flag]]
    if len(exclusive) > 1:
        raise InvalidWorkOrder(f"impossible status flags: {'+'.join(exclusive)} are all true")
    if not exclusive and not doc["isActive"]:
        raise InvalidWorkOrder("no status flag is true")
