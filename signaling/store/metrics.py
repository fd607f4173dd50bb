"""Call-center figures for a time range (the contract's `Metrics`).

Counts and means are SQL aggregates; only the connect_ms column (for
percentiles) and the abandoned sessions' two timestamps (their wait has no
portable SQL expression) are fetched as rows.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Account, CallSession as S, Rating, ServiceItem


def _count_if(condition):
    return func.count(case((condition, 1)))  # COUNT skips the NULL of "else"


def _avg_if(condition, column):
    return func.avg(case((condition, column)))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)  # PostgreSQL AVG is Decimal


def nearest_rank(sorted_values: list, p: float):
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def compute_metrics(
    db: AsyncSession, since: datetime | None, until: datetime | None, threshold_s: float
) -> dict:
    threshold_ms = threshold_s * 1000
    in_range = []
    if since is not None:
        in_range.append(S.created_at >= since)
    if until is not None:
        in_range.append(S.created_at < until)
    answered = S.answered_at.is_not(None)
    within = and_(answered, S.connect_ms <= threshold_ms)  # NULL connect_ms (no media) is not within
    handled = and_(answered, S.ended_at.is_not(None))

    totals = (await db.execute(
        select(
            func.count(), _count_if(answered), _count_if(S.outcome == "abandoned"),
            _count_if(S.outcome == "missed"), _count_if(within),
            _avg_if(answered, S.wait_ms), _avg_if(handled, S.talk_s),
        ).where(*in_range)
    )).one()
    offered, n_answered, abandoned, missed, n_within, asa_ms, aht_s = totals

    abandon_times = await db.execute(
        select(S.created_at, S.ended_at)
        .where(*in_range, S.outcome == "abandoned", S.ended_at.is_not(None))
    )
    abandoned_within = sum(
        1 for created, ended in abandon_times
        if (ended - created).total_seconds() * 1000 <= threshold_ms
    )

    connect = list((await db.scalars(
        select(S.connect_ms).where(*in_range, answered, S.connect_ms.is_not(None)).order_by(S.connect_ms)
    )).all())

    by_item = await db.execute(
        select(
            S.service_item_code, ServiceItem.name, func.count(), _count_if(answered),
            _count_if(within), _avg_if(answered, S.wait_ms),
        )
        .outerjoin(ServiceItem, ServiceItem.code == S.service_item_code)
        .where(*in_range)
        .group_by(S.service_item_code, ServiceItem.name)
        .order_by(S.service_item_code)
    )
    by_specialist = await db.execute(
        select(
            S.specialist_id, Account.display_name, _count_if(answered),
            _avg_if(handled, S.talk_s), func.avg(Rating.satisfaction),
        )
        .join(Account, Account.id == S.specialist_id)
        .outerjoin(Rating, Rating.session_id == S.id)
        .where(*in_range)
        .group_by(S.specialist_id, Account.display_name)
        .order_by(S.specialist_id)
    )

    return {
        "offered": offered,
        "answered": n_answered,
        "abandoned": abandoned,
        "missed": missed,
        "service_level": _ratio(n_within, n_answered),
        "service_level_abandons": _ratio(n_within + abandoned_within, n_answered + abandoned),
        "asa_ms": _round(asa_ms, 1),
        "aht_s": _round(aht_s, 1),
        "abandonment_rate": _ratio(abandoned, offered),
        "connect_ms": {f"p{p}": nearest_rank(connect, p) for p in (50, 90, 99)},
        "by_service_item": [
            {"code": code, "name": name, "offered": n, "answered": a,
             "service_level": _ratio(w, a), "asa_ms": _round(asa, 1)}
            for code, name, n, a, w, asa in by_item
        ],
        "by_specialist": [
            {"id": sid, "display_name": name, "answered": a, "aht_s": _round(aht, 1),
             "satisfaction": _round(sat, 2), "score": None}
            for sid, name, a, aht, sat in by_specialist
        ],
        "threshold_s": threshold_s,
    }
