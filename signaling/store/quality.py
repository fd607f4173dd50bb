"""The poor-call figures of the metrics (store/metrics.py): how many of a range's sessions had a
network quality summary, and how many of those were poor calls, in total, per service item and
per hour of day.

A poor call is a session whose `quality_level` is poor: a party poor in 20 % of its samples or
more (media/quality.py). Read from the index `ix_sessions_quality` alone (migration 0015).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CallSession as S

QUALITY_INDEX = "ix_sessions_quality"  # (created_at, quality_level, service_item_code)


async def poor_call_rows(db: AsyncSession, in_range: list, hour: Any) -> list[tuple]:
    """(service item code, hour, measured calls, poor calls) for the range; `hour` is the metrics'
    hour-of-day expression (local to its tz_offset_min)."""
    stmt = (select(S.service_item_code, hour, func.count(), func.count(case((S.quality_level == "poor", 1))))
            .where(*in_range, S.quality_level.is_not(None)).group_by(S.service_item_code, hour))
    if db.bind.dialect.name == "sqlite":  # its planner otherwise takes a narrower index plus row lookups
        stmt = stmt.with_hint(S, f"INDEXED BY {QUALITY_INDEX}", "sqlite")
    return (await db.execute(stmt)).all()


def _figures(calls: int, poor: int) -> dict:
    return {"quality_calls": calls, "poor_calls": poor, "poor_share": poor / calls if calls else None}


def add_poor_calls(result: dict, rows: list[tuple]) -> None:
    """`quality: {calls, poor_calls, poor_share}`, and the same three figures (`quality_calls`,
    `poor_calls`, `poor_share`) on each `by_service_item` and `by_hour` row of `result`."""
    by_item: dict[str, list[int]] = {}
    by_hour: dict[int, list[int]] = {}
    for code, hour, calls, poor in rows:
        for bucket in (by_item.setdefault(code, [0, 0]), by_hour.setdefault(int(hour), [0, 0])):
            bucket[0] += calls
            bucket[1] += poor or 0
    calls, poor = sum(c for c, _ in by_item.values()), sum(p for _, p in by_item.values())
    result["quality"] = {"calls": calls, "poor_calls": poor, "poor_share": poor / calls if calls else None}
    for row in result["by_service_item"]:
        row.update(_figures(*by_item.get(row["code"], (0, 0))))
    for row in result.get("by_hour", []):
        row.update(_figures(*by_hour.get(row["hour"], (0, 0))))
