"""Customer mock API stand-in (docs/customers.md): customers from a JSON file, or generated."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "customers.json"

FIRST_NAMES = (
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elena",
    "Felipe",
    "Gabriela",
    "Hugo",
    "Isabel",
    "João",
    "Karen",
    "Lucas",
    "Marta",
    "Nuno",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rafaela",
    "Samuel",
    "Teresa",
)
LAST_NAMES = (
    "Almeida",
    "Barbosa",
    "Costa",
    "Dias",
    "Esteves",
    "Ferreira",
    "Gomes",
    "Horta",
    "Ibarra",
    "Jardim",
    "Klein",
    "Lopes",
    "Moreira",
    "Nogueira",
    "O'Neil",
    "Pereira",
    "Queiroz",
    "Rocha",
)
STREETS = ("Main St", "Oak Ave", "Harbour Rd", "Station Sq", "Mill Lane", "Rua Augusta", "Elm Ct")
CITIES = (
    "Springfield, IL 62701",
    "Porto, 4000-001",
    "Austin, TX 73301",
    "Lisboa, 1100-148",
    "Denver, CO 80202",
)


def customer_id(number: int) -> str:
    """CUST001 .. CUST999, then CUST1000 ...: the seed's spelling, widened when needed."""
    return f"CUST{number:03d}"


def generate(count: int, seed: int = 42) -> list[dict[str, Any]]:
    """`count` customers with the seed's fields; the same seed gives the same customers."""
    rng = random.Random(seed)
    base = dt.datetime(2023, 1, 1, 8, 0, 0)  # noqa: DTZ001  (the seed's TIMESTAMP has no zone)
    customers = []
    for number in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
        created = base + dt.timedelta(
            minutes=rng.randrange(0, 60 * 24 * 700), seconds=rng.randrange(60)
        )
        customers.append(
            {
                "customer_id": customer_id(number),
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}.{number}@example.com".lower()
                .replace("'", "")
                .replace("ã", "a"),
                "phone": None if number % 11 == 0 else f"+1-555-{rng.randrange(1000, 9999):04d}",
                "address": None
                if number % 13 == 0
                else f"{rng.randrange(1, 999)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
                "date_of_birth": None if number % 17 == 0 else birth.isoformat(),
                "account_balance": round(rng.uniform(-500, 250_000), 2),
                "created_at": created.isoformat(),
            }
        )
    return customers


def load(path: Path = DATA_FILE) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))
