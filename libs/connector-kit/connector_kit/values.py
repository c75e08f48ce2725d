"""Reading values the same way wherever they arrive: instants and exact decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def utc_instant(value: Any) -> dt.datetime:
    """A datetime, or its ISO 8601 text, as an aware datetime; without an offset it is UTC."""
    instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def exact_decimal(value: int | float | str | Decimal) -> Decimal:
    """The number as written: a float counts as the shortest decimal that reads back as it
    (2.675, not 2.67499999999999982236431605997495353221893310546875)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
