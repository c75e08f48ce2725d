"""The translation tables row by row, date normalisation, and round trips (property-based)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from map_erp_tracos.work_orders import (
    UntranslatableError,
    erp_to_tracos,
    format_datetime,
    parse_datetime,
    status_table,
    tracos_to_erp,
)

FLAGS = ("isActive", "isCanceled", "isDone", "isOnHold", "isPending")


def erp(raised: set[str] | frozenset[str], **changes: Any) -> dict[str, Any]:
    doc = {flag: flag in raised for flag in FLAGS}
    return {
        "orderNo": 1,
        **doc,
        "isDeleted": False,
        "isSynced": True,
        "summary": "s",
        "creationDate": "2025-01-01T00:00:00.000+00:00",
        "lastUpdateDate": "2025-01-02T00:00:00.000+00:00",
        "deletedDate": None,
        **changes,
    }


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        ({"isPending"}, "pending"),
        ({"isActive"}, "in_progress"),
        ({"isDone"}, "completed"),
        ({"isOnHold"}, "on_hold"),
        ({"isCanceled"}, "cancelled"),
        ({"isActive", "isPending"}, "pending"),
        ({"isActive", "isDone"}, "completed"),
        ({"isActive", "isOnHold"}, "on_hold"),
        ({"isActive", "isCanceled"}, "cancelled"),
    ],
)
def test_erp_flags_to_tracos_status(raised: set[str], status: str) -> None:
    assert erp_to_tracos(erp(raised))["status"] == status


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        ("pending", {"isPending"}),
        ("in_progress", {"isActive"}),
        ("completed", {"isDone"}),
        ("on_hold", {"isOnHold"}),
        ("cancelled", {"isCanceled"}),
    ],
)
def test_tracos_status_to_erp_flags(status: str, raised: set[str]) -> None:
    doc = tracos_to_erp(
        {
            "number": 1,
            "status": status,
            "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": "2025-01-01T00:00:00Z",
        }
    )
    assert {flag for flag in FLAGS if doc[flag]} == raised


def test_the_tables_cover_every_tracos_status_both_ways() -> None:
    table = status_table()
    assert set(table["tracos_to_erp"]) == {
        "pending",
        "in_progress",
        "completed",
        "on_hold",
        "cancelled",
    }
    for status, raised in table["tracos_to_erp"].items():
        assert table["erp_to_tracos"][raised] == status


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (set(), "no TracOS status for ERP status flags none"),
        ({"isDone", "isCanceled"}, "no TracOS status for ERP status flags isCanceled+isDone"),
        (
            {"isPending", "isOnHold", "isActive"},
            "no TracOS status for ERP status flags isActive+isOnHold+isPending",
        ),
    ],
)
def test_unknown_flag_combinations_are_refused(raised: set[str], reason: str) -> None:
    with pytest.raises(UntranslatableError, match=reason.replace("+", r"\+")):
        erp_to_tracos(erp(raised))


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-01-06T08:00:00Z", "2025-01-06T08:00:00.000+00:00"),
        ("2025-01-06T08:00:00+00:00", "2025-01-06T08:00:00.000+00:00"),
        ("2025-01-06T05:07:00-03:00", "2025-01-06T08:07:00.000+00:00"),
        ("2025-01-06T23:30:00+05:30", "2025-01-06T18:00:00.000+00:00"),
        ("2025-01-06T08:00:00", "2025-01-06T08:00:00.000+00:00"),  # no offset: read as UTC
        ("2025-01-06T08:00:00.123456Z", "2025-01-06T08:00:00.123+00:00"),  # BSON holds milliseconds
        ("2025-01-06", "2025-01-06T00:00:00.000+00:00"),
    ],
)
def test_dates_normalise_to_utc(text: str, utc: str) -> None:
    assert format_datetime(parse_datetime(text, "f")) == utc


@pytest.mark.parametrize("text", ["31/12/2024", "yesterday", "", "2025-13-01T00:00:00Z"])
def test_unparseable_dates_are_refused(text: str) -> None:
    with pytest.raises(UntranslatableError, match="not an ISO 8601 date"):
        parse_datetime(text, "creationDate")


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00-03:00", "0001-01-01T00:00:00+01:00"])
def test_dates_outside_the_storable_range_are_refused(text: str) -> None:
    with pytest.raises(UntranslatableError, match="out of the storable date range"):
        parse_datetime(text, "lastUpdateDate")


def test_deleted_maps_to_deleted_and_deleted_at() -> None:
    doc = erp_to_tracos(erp({"isDone"}, isDeleted=True, deletedDate="2025-01-03T10:00:00+01:00"))
    assert (doc["deleted"], doc["deletedAt"]) == (True, "2025-01-03T09:00:00.000+00:00")


# Property-based round trips --------------------------------------------------------------

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
instants = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@st.composite
def erp_texts(draw: st.DrawFn) -> str:
    """An ISO 8601 text for a random instant, in a random offset, with Z, offset or none."""
    instant = draw(instants)
    style = draw(st.sampled_from(["offset", "Z", "naive"]))
    if style == "naive":
        return instant.replace(tzinfo=None).isoformat()
    text = instant.astimezone(draw(offsets)).isoformat()
    return instant.isoformat().replace("+00:00", "Z") if style == "Z" else text


canonical_flags = st.sampled_from(list(status_table()["tracos_to_erp"].values()))


@st.composite
def erp_documents(
    draw: st.DrawFn, flags: st.SearchStrategy[frozenset[str]] = canonical_flags
) -> dict[str, Any]:
    raised = draw(flags)
    deleted = draw(st.booleans())
    return {
        "orderNo": draw(st.integers(min_value=0, max_value=2**53)),
        **{flag: flag in raised for flag in FLAGS},
        "isDeleted": deleted,
        "isSynced": draw(st.booleans()),
        "summary": draw(st.none() | st.text(max_size=200)),
        "creationDate": draw(erp_texts()),
        "lastUpdateDate": draw(erp_texts()),
        "deletedDate": draw(st.none() | erp_texts()),
    }


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """The documented normalisation: UTC millisecond dates, isSynced true."""
    dates = {
        k: format_datetime(parse_datetime(doc[k], k)) for k in ("creationDate", "lastUpdateDate")
    }
    deleted = doc["deletedDate"] and format_datetime(
        parse_datetime(doc["deletedDate"], "deletedDate")
    )
    return {**doc, **dates, "deletedDate": deleted, "isSynced": True}


@given(erp_documents())
def test_erp_round_trip_is_lossless_apart_from_normalisation(doc: dict[str, Any]) -> None:
    assert tracos_to_erp(erp_to_tracos(doc)) == normalised(doc)


@given(erp_documents(st.sampled_from([r for r in status_table()["erp_to_tracos"] if len(r) > 1])))
def test_extra_is_active_flag_is_normalised_once(doc: dict[str, Any]) -> None:
    once = tracos_to_erp(erp_to_tracos(doc))
    assert once["isActive"] is False
    assert erp_to_tracos(once) == erp_to_tracos(doc)
    assert tracos_to_erp(erp_to_tracos(once)) == once


@given(erp_documents())
def test_tracos_dates_are_utc_milliseconds(doc: dict[str, Any]) -> None:
    tracos = erp_to_tracos(doc)
    for field in ("createdAt", "updatedAt"):
        parsed = dt.datetime.fromisoformat(tracos[field])
        assert parsed.utcoffset() == dt.timedelta(0)
        assert parsed.microsecond % 1000 == 0
        assert parsed == parse_datetime(
            doc[field.replace("createdAt", "creationDate").replace("updatedAt", "lastUpdateDate")],
            field,
        )


@given(erp_documents())
def test_tracos_round_trip_keeps_every_tracos_field(doc: dict[str, Any]) -> None:
    tracos = erp_to_tracos(doc)
    again = erp_to_tracos(tracos_to_erp(tracos))
    assert again == tracos
