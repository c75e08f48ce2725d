"""Work-order translation ERP <-> TracOS: pure functions over plain dicts.

Normalisation (the only differences after a round trip ERP -> TracOS -> ERP):
- dates become UTC, millisecond precision (BSON dates hold milliseconds), written as
  `2025-01-06T08:00:00.000+00:00`; a date without offset is read as UTC;
- the status flags are written in their canonical form (one flag per status, see
  status_table.yaml), so `isActive` next to another status flag is dropped;
- `isSynced` is written true: the file is TracOS's synchronised copy of the order;
- fields the ERP format does not define are not carried.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

import yaml

ERP_STREAM = "work_orders"
TRACOS_STREAM = "workorders"


class UntranslatableError(ValueError):
    """A record that cannot be translated; the message is the reason, for the dead letters."""


@cache
def status_table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("status_table.yaml").read_text(encoding="utf-8")
    table = yaml.safe_load(text)
    flags = tuple(table["status_flags"])
    inbound = {frozenset(row["flags"]): row["status"] for row in table["erp_to_tracos"]}
    outbound = {status: frozenset(names) for status, names in table["tracos_to_erp"].items()}
    return {"flags": flags, "erp_to_tracos": inbound, "tracos_to_erp": outbound}


def parse_datetime(value: Any, field: str) -> dt.datetime:
    """ISO 8601 text (or a datetime) to an aware UTC datetime truncated to milliseconds."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise UntranslatableError(f"{field} is not an ISO 8601 date: {value!r}") from None
    else:
        raise UntranslatableError(f"{field} is not a date: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        parsed = parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-03:00 is after the last storable instant
        raise UntranslatableError(f"{field} is out of the storable date range: {value!r}") from None
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _optional_datetime(value: Any, field: str) -> str | None:
    return None if value is None else format_datetime(parse_datetime(value, field))


def erp_status(doc: dict[str, Any]) -> str:
    table = status_table()
    raised = frozenset(flag for flag in table["flags"] if doc.get(flag) is True)
    try:
        return str(table["erp_to_tracos"][raised])
    except KeyError:
        names = "+".join(sorted(raised)) or "none"
        raise UntranslatableError(f"no TracOS status for ERP status flags {names}") from None


def erp_to_tracos(doc: dict[str, Any]) -> dict[str, Any]:
    """ERP work order -> TracOS work order (dates as UTC ISO 8601 text, for Singer)."""
    number = doc.get("orderNo")
    if not isinstance(number, int) or isinstance(number, bool):
        raise UntranslatableError(f"orderNo is not an integer: {number!r}")
    for field in ("creationDate", "lastUpdateDate"):
        if doc.get(field) is None:
            raise UntranslatableError(f"{field} is missing")
    summary = doc.get("summary")
    deleted = doc.get("isDeleted") is True
    return {
        "number": number,
        "status": erp_status(doc),
        "title": summary,
        "description": summary,
        "createdAt": format_datetime(parse_datetime(doc["creationDate"], "creationDate")),
        "updatedAt": format_datetime(parse_datetime(doc["lastUpdateDate"], "lastUpdateDate")),
        "deleted": deleted,
        "deletedAt": _optional_datetime(doc.get("deletedDate"), "deletedDate"),
    }


def tracos_to_erp(doc: dict[str, Any]) -> dict[str, Any]:
    """TracOS work order -> ERP work order; `orderNo`/`lastUpdateDate` are `number`/`updatedAt`."""
    table = status_table()
    number = doc.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise UntranslatableError(f"number is not an integer: {number!r}")
    raised = table["tracos_to_erp"].get(doc.get("status"))
    if raised is None:
        raise UntranslatableError(f"no ERP status flags for TracOS status {doc.get('status')!r}")
    for field in ("createdAt", "updatedAt"):
        if doc.get(field) is None:
            raise UntranslatableError(f"{field} is missing")
    flags = {flag: flag in raised for flag in table["flags"]}
    return {
        "orderNo": number,
        **flags,
        "isDeleted": doc.get("deleted") is True,
        "isSynced": True,
        "summary": doc.get("title") if doc.get("title") is not None else doc.get("description"),
        "creationDate": format_datetime(parse_datetime(doc["createdAt"], "createdAt")),
        "lastUpdateDate": format_datetime(parse_datetime(doc["updatedAt"], "updatedAt")),
        "deletedDate": _optional_datetime(doc.get("deletedAt"), "deletedAt"),
    }


_DATE = {"type": ["string"], "format": "date-time"}
_OPTIONAL_DATE = {"type": ["string", "null"], "format": "date-time"}

TRACOS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "number": {"type": ["integer"]},
        "status": {
            "type": ["string"],
            "enum": ["pending", "in_progress", "completed", "on_hold", "cancelled"],
        },
        "title": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        "createdAt": _DATE,
        "updatedAt": _DATE,
        "deleted": {"type": ["boolean"]},
        "deletedAt": _OPTIONAL_DATE,
    },
    "required": ["number", "status", "createdAt", "updatedAt"],
}


def erp_schema() -> dict[str, Any]:
    flags = {
        flag: {"type": ["boolean"]} for flag in (*status_table()["flags"], "isDeleted", "isSynced")
    }
    return {
        "type": "object",
        "properties": {
            "orderNo": {"type": ["integer"]},
            **flags,
            "summary": {"type": ["string", "null"]},
            "creationDate": _DATE,
            "lastUpdateDate": _DATE,
            "deletedDate": _OPTIONAL_DATE,
        },
        "required": ["orderNo", "creationDate", "lastUpdateDate"],
    }
