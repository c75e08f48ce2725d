"""Sandbox TracOS (Mongo `tractian.workorders`) and client ERP inbound files.

Like the seed's setup script: 10 TracOS work orders that are not yet synced, and 10
ERP work-order files in the inbound folder, one JSON document per file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import pymongo

TRACOS_STATUSES = ("pending", "in_progress", "completed", "on_hold", "cancelled")
BASE_TIME = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)


def tracos_work_orders(count: int = 10) -> list[dict[str, Any]]:
    orders = []
    for n in range(1, count + 1):
        created = BASE_TIME + dt.timedelta(days=n)
        deleted = n % 7 == 0
        orders.append(
            {
                "number": n,
                "status": TRACOS_STATUSES[n % len(TRACOS_STATUSES)],
                "title": f"Work order {n}",
                "description": f"Inspect and service asset #{n}",
                "createdAt": created,
                "updatedAt": created + dt.timedelta(hours=n),
                "deleted": deleted,
                "deletedAt": created + dt.timedelta(days=2) if deleted else None,
                "isSynced": False,
            }
        )
    return orders


def erp_work_orders(count: int = 10, first: int = 101) -> list[dict[str, Any]]:
    """ERP documents; the status is spread over flags, dates with and without offsets."""
    flag_sets = [
        {"isPending": True},
        {"isActive": True},
        {"isDone": True},
        {"isOnHold": True},
        {"isCanceled": True},
    ]
    docs = []
    for i in range(count):
        number = first + i
        created = BASE_TIME + dt.timedelta(days=i, minutes=7 * i)
        updated = created + dt.timedelta(hours=3)
        flags = {
            "isActive": False,
            "isCanceled": False,
            "isDeleted": False,
            "isDone": False,
            "isOnHold": False,
            "isPending": False,
            "isSynced": False,
        }
        flags.update(flag_sets[i % len(flag_sets)])
        if i % 2:  # an ERP that writes local time with an offset
            offset = dt.timezone(dt.timedelta(hours=-3))
            creation, last_update = (
                created.astimezone(offset).isoformat(),
                updated.astimezone(offset).isoformat(),
            )
        else:
            creation, last_update = created.isoformat().replace("+00:00", "Z"), updated.isoformat()
        deleted = i == 9
        docs.append(
            {
                "orderNo": number,
                **flags,
                "isDeleted": deleted,
                "summary": f"ERP order {number}: replace bearing on line {i % 3 + 1}",
                "creationDate": creation,
                "lastUpdateDate": last_update,
                "deletedDate": (updated + dt.timedelta(hours=1)).isoformat() if deleted else None,
            }
        )
    return docs


def seed_mongo(uri: str) -> int:
    """Insert the TracOS work orders that are missing; return how many were inserted."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=10_000, tz_aware=True
    )
    try:
        collection = client.get_default_database("tractian")["workorders"]
        collection.create_index("number", unique=True)
        ops = [
            pymongo.UpdateOne({"number": o["number"]}, {"$setOnInsert": o}, upsert=True)
            for o in tracos_work_orders()
        ]
        return int(collection.bulk_write(ops, ordered=False).upserted_count)
    finally:
        client.close()


def seed_inbound(folder: Path) -> int:
    """Write the ERP files that are missing; return how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for doc in erp_work_orders():
        path = folder / f"{doc['orderNo']}.json"
        if not path.exists():
            path.write_text(json.dumps(doc, indent=2) + "\n")
            settled = time.time() - 60  # written whole: settled for tap-client-json at once
            os.utime(path, (settled, settled))
            written += 1
    return written
