"""Call-center figures for a time range (the contract's `Metrics`, extended).

Everything is an SQL aggregate over the covering index `ix_sessions_report`
(migration 0005): no session row is loaded into Python. Percentiles come
from a histogram of connect_ms (one row per distinct millisecond value, so at
most a few thousand rows whatever the number of sessions) walked cumulatively
for the nearest rank. The abandoned sessions' waits (ended_at − created_at)
and the hour of day use one small dialect-specific expression each (SQLite
and PostgreSQL).

Definitions (threshold T seconds, default 2):
- offered: sessions created in [since, until)
- answered: a specialist accepted (answered_at set; outcome answered, failed
  or transferred)
- service_level: answered with connect_ms <= T / answered
- service_level_abandons: (answered within T + abandoned within T) / (answered + abandoned)
- asa_ms: mean wait_ms of answered; aht_s: mean talk_s of answered and ended
- abandonment_rate: abandoned / offered
- connect_ms p50/p90/p99: nearest rank over answered sessions with media
- quality (network quality, issue 14): `calls` are sessions with a quality summary (ended after
  media flowed and was sampled), `poor_calls` those whose `quality_level` is poor (a party poor in
  20 % of its samples or more: media/quality.py), `poor_share` = poor_calls / calls; per service
  item and per hour of day too
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from .quality import add_poor_calls, poor_call_rows
from .models import Account, CallSession as S, Rating, ServiceItem, SessionEvent as E, SessionParticipant as P
from .scores import Cell, compute_scores

PERCENTILES = (50, 90, 99)
NICE_BINS_MS = (50, 100, 200, 250, 500, 1000, 2000, 5000)


def _count_if(condition):
    return func.count(case((condition, 1)))  # COUNT skips the NULL of "else"


def _sum_if(condition, column):
    return func.sum(case((condition, column)))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)  # PostgreSQL AVG is Decimal


def _mean(total, n: int, digits: int) -> float | None:
    return _round(float(total) / n, digits) if n and total is not None else None


def nearest_rank(sorted_values: list, p: float):
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def percentiles_from_histogram(histogram: list[tuple[int, int]], ps=PERCENTILES) -> dict:
    """Nearest-rank percentiles from (value, count) pairs sorted by value."""
    total = sum(n for _, n in histogram)
    result = {}
    for p in ps:
        if not total:
            result[f"p{p}"] = None
            continue
        rank, seen = max(1, math.ceil(p / 100 * total)), 0
        for value, n in histogram:
            seen += n
            if seen >= rank:
                result[f"p{p}"] = value
                break
    return result


def bin_histogram(histogram: list[tuple[int, int]], threshold_ms: float, p99: int | None) -> dict:
    """Fixed-width bins for the chart: about 40-60 bins up to past both the threshold and p99."""
    upper = max(2 * threshold_ms, min(p99 or 0, 60_000) * 1.1, 1000)
    width = next((w for w in NICE_BINS_MS if upper / w <= 60), NICE_BINS_MS[-1])
    n_bins = math.ceil(upper / width)
    counts = [0] * n_bins
    over = 0
    for value, n in histogram:
        i = int(value // width)
        if i < n_bins:
            counts[i] += n
        else:
            over += n
    return {"bin_ms": width, "counts": counts, "over": over, "threshold_ms": threshold_ms}


REPORT_INDEX = "ix_sessions_report"  # migration 0005: covers every column read below


def _elapsed_ms(later, earlier, dialect: str):
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86_400_000.0
    return func.extract("epoch", later - earlier) * 1000


def _local_hour(column, offset_min: int, dialect: str):
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS...': cheaper than strftime() on every row.
        minutes = cast(func.substr(column, 12, 2), Integer) * 60 + cast(func.substr(column, 15, 2), Integer)
        return ((minutes + (offset_min % 1440) + 1440) % 1440) // 60
    return cast(func.extract("hour", column + literal(timedelta(minutes=offset_min))), Integer)


GROUP_INDEX = "ix_sessions_group"  # migration 0006: (specialist, item, created_at, ...) for skip-scans


def _from_report(stmt, dialect: str, index: str = REPORT_INDEX):
    """Read from a covering index (SQLite's planner otherwise prefers a narrower one plus row lookups)."""
    return stmt.with_hint(S, f"INDEXED BY {index}", "sqlite") if dialect == "sqlite" else stmt


def _range(since: datetime | None, until: datetime | None) -> list:
    in_range = []
    if since is not None:
        in_range.append(S.created_at >= since)
    if until is not None:
        in_range.append(S.created_at < until)
    return in_range


async def _catalog(db: AsyncSession) -> dict:
    return {
        code: (name, name_en, category, difficulty)
        for code, name, name_en, category, difficulty in await db.execute(
            select(ServiceItem.code, ServiceItem.name, ServiceItem.name_en,
                   ServiceItem.category, ServiceItem.difficulty)
        )
    }


def _figures(threshold_ms: float, dialect: str) -> tuple:
    answered = S.wait_ms.is_not(None)  # wait_ms is set exactly when answered_at is
    within = and_(answered, S.connect_ms <= threshold_ms)  # NULL connect_ms (no media) is not within
    abandoned = S.outcome == "abandoned"
    # An abandoned session's wait is ended_at - created_at (stored rounding: half a millisecond).
    abandoned_within = and_(
        abandoned, S.ended_at.is_not(None),
        _elapsed_ms(S.ended_at, S.created_at, dialect) <= threshold_ms + 0.5,
    )
    talked = and_(answered, S.talk_s.is_not(None))
    rated = and_(answered, S.difficulty.is_not(None))
    return (
        func.count(), _count_if(answered), _count_if(within), _count_if(abandoned),
        _count_if(S.outcome == "missed"), _count_if(abandoned_within),
        _sum_if(answered, S.wait_ms), _sum_if(talked, S.talk_s), _count_if(talked),
        _sum_if(rated, S.difficulty), _count_if(rated),
    )


async def compute_metrics(
    db: AsyncSession,
    since: datetime | None,
    until: datetime | None,
    threshold_s: float,
    *,
    tz_offset_min: int = 0,
    detail: bool = True,
    sessions: Callable[[], AsyncSession] | None = None,
) -> dict:
    """The report for [since, until). `tz_offset_min` shifts the hour of day
    (480 for Beijing time); `detail=False` computes only the totals and the
    per-item figures (the live wallboard's once-a-second call). With a
    `sessions` factory the independent passes run concurrently, each on its
    own connection (SQLite in WAL mode serves concurrent readers)."""
    dialect = db.bind.dialect.name
    threshold_ms = threshold_s * 1000
    in_range = _range(since, until)
    figures = _figures(threshold_ms, dialect)
    catalog = await _catalog(db)
    key = (S.specialist_id, S.service_item_code)
    group_by = key if detail else (S.service_item_code,)

    async def on_own(pass_):
        if sessions is None:
            return await pass_(db)
        async with sessions() as own:
            return await pass_(own)

    async def main_pass(conn):  # 1. per (specialist, item): by item, by specialist, scores, totals
        return (await conn.execute(_from_report(
            select(*group_by, *figures).where(*in_range).group_by(*group_by), dialect,
            GROUP_INDEX if detail else REPORT_INDEX,
        ))).all()

    async def histogram_pass(conn):  # 2. connect_ms histogram (distinct values) for percentiles
        return [(int(v), n) for v, n in await conn.execute(_from_report(
            select(S.connect_ms, func.count())
            .where(*in_range, S.wait_ms.is_not(None), S.connect_ms.is_not(None))
            .group_by(S.connect_ms).order_by(S.connect_ms), dialect
        ))]

    hour = _local_hour(S.created_at, tz_offset_min, dialect).label("hour")

    async def hour_pass(conn):  # 3. hour of day (local to tz_offset_min)
        return {int(h): rest for h, *rest in await conn.execute(_from_report(
            select(hour, *figures[:7]).where(*in_range).group_by(hour), dialect
        )) if h is not None}

    async def ratings_pass(conn):  # 4. callers' ratings per (specialist, item)
        return await _ratings(conn, in_range, dialect)

    if detail:
        # 5. measured and poor calls per (item, hour): store/quality.py
        passes = (main_pass, histogram_pass, hour_pass, ratings_pass, lambda conn: poor_call_rows(conn, in_range, hour))
        rows, histogram, hours, ratings, quality = await asyncio.gather(
            *(on_own(p) for p in passes)
        ) if sessions is not None else [await p(db) for p in passes]
    else:
        rows = await main_pass(db)
    if not detail:
        rows = [(None, *row) for row in rows]
    tot = [0] * 9
    per_item: dict[str, list] = {}
    for row in rows:
        values = [v or 0 for v in row[2:11]]
        item = per_item.setdefault(row[1], [0] * 9)
        for i, value in enumerate(values):
            tot[i] += value
            item[i] += value
    offered, n_answered, n_within, n_abandoned, missed, n_ab_within, wait_sum, talk_sum, talk_n = tot

    def info(code, i):
        return catalog[code][i] if code in catalog else None

    result = {
        "offered": offered,
        "answered": n_answered,
        "abandoned": n_abandoned,
        "missed": missed,
        "service_level": _ratio(n_within, n_answered),
        "service_level_abandons": _ratio(n_within + n_ab_within, n_answered + n_abandoned),
        "asa_ms": _mean(wait_sum, n_answered, 1),
        "aht_s": _mean(talk_sum, talk_n, 1),
        "abandonment_rate": _ratio(n_abandoned, offered),
        "connect_ms": {f"p{p}": None for p in PERCENTILES},
        "by_service_item": [
            {"code": code, "name": info(code, 0), "offered": n, "answered": a,
             "service_level": _ratio(w, a), "asa_ms": _mean(ws, a, 1),
             "name_en": info(code, 1), "category": info(code, 2),
             "abandoned": ab, "missed": mi,
             "service_level_abandons": _ratio(w + abw, a + ab),
             "aht_s": _mean(ts, tn, 1)}
            for code, (n, a, w, ab, mi, abw, ws, ts, tn) in sorted(per_item.items())
        ],
        "by_specialist": [],
        "threshold_s": threshold_s,
    }
    if not detail:
        return result

    result["connect_ms"] = percentiles_from_histogram(histogram)
    result["connect_histogram"] = bin_histogram(histogram, threshold_ms, result["connect_ms"]["p99"])

    result["by_hour"] = []
    for h in range(24):
        n, a, w, ab, mi, abw, ws = hours.get(h, (0, 0, 0, 0, 0, 0, None))
        result["by_hour"].append({
            "hour": h, "offered": n, "answered": a, "abandoned": ab, "missed": mi,
            "service_level": _ratio(w, a), "service_level_abandons": _ratio(w + abw, a + ab),
            "asa_ms": _mean(ws, a, 1),
        })
    result["tz_offset_min"] = tz_offset_min  # the hours of by_hour are local to it
    add_poor_calls(result, quality)

    # Specialists: the cells of pass 1 plus the callers' ratings.
    cells = {
        (sid, code): Cell(sid, code, a, w, float(ts or 0), tn, int(ds or 0), dn)
        for sid, code, _n, a, w, _ab, _mi, _abw, _ws, ts, tn, ds, dn in rows if sid is not None
    }
    _merge_ratings(cells, ratings, await _back_office_cells(db, in_range, threshold_ms))
    await _add_several(result, db, in_range)  # several people in one call: consults, conferences, hand-overs
    result["by_specialist"] = await _by_specialist(db, list(cells.values()), catalog)
    return result


async def _ratings(db: AsyncSession, in_range: list, dialect: str) -> list[tuple]:
    key = (S.specialist_id, S.service_item_code)
    return (await db.execute(_from_report(
        select(*key, func.sum(Rating.satisfaction), func.count(Rating.satisfaction))
        .select_from(S).join(Rating, Rating.session_id == S.id)
        .where(*in_range, S.specialist_id.is_not(None)).group_by(*key), dialect, GROUP_INDEX
    ))).all()


def _merge_ratings(cells: dict, ratings: list[tuple], assisted: list[tuple] = ()) -> None:
    """The callers' ratings per (specialist, item), then the back office's part (issue 13): sessions
    assisted, those accepted in time, and the callers' ratings of them."""
    for sid, code, ss, sn in ratings:
        rated = cells.setdefault((sid, code), Cell(sid, code))
        rated.satisfaction_sum, rated.satisfaction_n = int(ss or 0), sn
    for sid, code, n, within, ss, sn in assisted:
        cell = cells.setdefault((sid, code), Cell(sid, code))
        cell.assisted, cell.assisted_within = n, within
        cell.satisfaction_sum += ss
        cell.satisfaction_n += sn


# Several people in one call (issue 13), read from the participant rows (store/participants.py says
# what a row is): a back office row with `wait_ms` is one accepted invitation (consult or conference
# first); a consult turned conference adds a `conference` row; a hand-over's session starts with a
# `handover` row.

def _percentile(values: list[int], p: float) -> int | None:
    """Nearest rank over sorted values."""
    return values[max(0, min(len(values) - 1, -(-len(values) * p // 100) - 1))] if values else None


def _reach(values: list[int]) -> dict:
    values = sorted(values)
    return {"mean": round(sum(values) / len(values), 1) if values else None,
            "p50": _percentile(values, 50), "p90": _percentile(values, 90)}


async def _several_figures(db: AsyncSession, in_range: list) -> tuple[dict, dict[str, dict]]:
    """(totals, per service item): invitations, consults, conferences, hand-overs and the time to reach
    the back office, for the sessions created in the range."""
    items: dict[str, dict] = {}
    conferenced: set[str] = set()
    rows = await db.execute(select(S.service_item_code, P.session_id, P.mode, P.wait_ms)
                            .join(P, P.session_id == S.id).where(*in_range, P.role == "back_office"))
    for code, session_id, mode, wait_ms in rows:
        item = items.setdefault(code, {"consults": 0, "conferences": 0, "handovers": 0, "reach": []})
        if wait_ms is not None:
            item["reach"].append(wait_ms)
            item["consults"] += mode == "consult"
        if mode == "conference" and session_id not in conferenced:
            conferenced.add(session_id)
            item["conferences"] += 1
        item["handovers"] += mode == "handover"
    ended = {"invited": 0, "declined": 0, "timeout": 0}
    events = await db.execute(select(E.type, E.data["reason"].as_string()).join(S, S.id == E.session_id)
                              .where(*in_range, E.type.in_(("invited", "invite_ended"))))
    for kind, why in events:
        key = "invited" if kind == "invited" else why
        if key in ended:
            ended[key] += 1
    totals = {
        "invites": ended["invited"], "declined": ended["declined"], "timed_out": ended["timeout"],
        **{k: sum(i[k] for i in items.values()) for k in ("consults", "conferences", "handovers")},
        "reach_back_office_ms": _reach([v for i in items.values() for v in i["reach"]]),
    }
    per_item = {code: {"consults": i["consults"], "conferences": i["conferences"], "handovers": i["handovers"],
                       "reach_back_office_ms": _reach(i["reach"])["mean"]} for code, i in items.items()}
    return totals, per_item


async def _add_several(result: dict, db: AsyncSession, in_range: list) -> None:
    """The figures above: in total (`several`) and on each by_service_item row."""
    totals, per_item = await _several_figures(db, in_range)
    result["several"] = totals
    for row in result["by_service_item"]:
        row.update(per_item.get(row["code"]) or
                   {"consults": 0, "conferences": 0, "handovers": 0, "reach_back_office_ms": None})


async def _back_office_cells(db: AsyncSession, in_range: list, threshold_ms: float) -> list[tuple]:
    """Per (invited specialist, item): sessions assisted, accepted within the threshold, the callers'
    ratings of them — the back office's part of the scores (store/scores.py)."""
    rows = await db.execute(
        select(P.account_id, S.service_item_code, P.session_id, P.wait_ms, Rating.satisfaction)
        .join(S, S.id == P.session_id).outerjoin(Rating, Rating.session_id == S.id)
        .where(*in_range, P.role == "back_office", P.wait_ms.is_not(None), P.account_id.is_not(None)))
    cells: dict[tuple[int, str], list] = {}
    rated: set[tuple[int, str]] = set()
    for account_id, code, session_id, wait_ms, satisfaction in rows:
        cell = cells.setdefault((account_id, code), [0, 0, 0, 0])
        cell[0] += 1
        cell[1] += wait_ms <= threshold_ms
        if satisfaction is not None and (account_id, session_id) not in rated:
            rated.add((account_id, session_id))
            cell[2] += satisfaction
            cell[3] += 1
    return [(account_id, code, *cell) for (account_id, code), cell in cells.items()]


async def specialist_cells(
    db: AsyncSession, in_range: list, threshold_ms: float, sessions: Callable[[], AsyncSession] | None = None
) -> list[Cell]:
    dialect = db.bind.dialect.name
    key = (S.specialist_id, S.service_item_code)
    figures = _figures(threshold_ms, dialect)

    async def groups(conn):
        return (await conn.execute(_from_report(
            select(*key, *figures).where(*in_range, S.specialist_id.is_not(None)).group_by(*key), dialect, GROUP_INDEX
        ))).all()

    async def ratings(conn):
        if sessions is None:
            return await _ratings(conn, in_range, dialect)
        async with sessions() as own:  # concurrently, on its own connection
            return await _ratings(own, in_range, dialect)

    rows, rated = await asyncio.gather(groups(db), ratings(db)) if sessions is not None else (
        await groups(db), await ratings(db))
    cells = {
        (sid, code): Cell(sid, code, a, w, float(ts or 0), tn, int(ds or 0), dn)
        for sid, code, _n, a, w, _ab, _mi, _abw, _ws, ts, tn, ds, dn in rows
    }
    _merge_ratings(cells, rated, await _back_office_cells(db, in_range, threshold_ms))
    return list(cells.values())


async def _by_specialist(db: AsyncSession, cells: list[Cell], catalog: dict) -> list[dict]:
    scores = compute_scores(cells, {code: info[3] for code, info in catalog.items()})
    ids = sorted(scores)
    names = {}
    if ids:
        names = {i: (u, d) for i, u, d in await db.execute(
            select(Account.id, Account.username, Account.display_name).where(Account.id.in_(ids))
        )}
    rows = []
    for sid in ids:
        spec_cells = [c for c in cells if c.specialist_id == sid]
        talk_n = sum(c.talk_n for c in spec_cells)
        sat_n = sum(c.satisfaction_n for c in spec_cells)
        b = scores[sid]
        username, display_name = names.get(sid, (None, None))
        rows.append({
            "id": sid, "display_name": display_name,
            "answered": b.answered,
            "aht_s": _mean(sum(c.talk_sum for c in spec_cells), talk_n, 1),
            "satisfaction": _mean(sum(c.satisfaction_sum for c in spec_cells), sat_n, 2),
            "score": None if b.score is None else round(b.score, 1),
            "username": username,
            "ratings": sat_n,
            "breakdown": {k: v for k, v in b.as_dict().items() if k not in ("id", "answered", "score")},
        })
    return rows


async def compute_scores_report(
    db: AsyncSession, since: datetime | None, until: datetime | None, threshold_s: float,
    sessions: Callable[[], AsyncSession] | None = None,
) -> list[dict]:
    """The leaderboard: by_specialist sorted by score (best first; unscored last)."""
    in_range = _range(since, until)
    catalog = await _catalog(db)
    rows = await _by_specialist(db, await specialist_cells(db, in_range, threshold_s * 1000, sessions), catalog)
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), -r["answered"], r["id"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank if row["score"] is not None else None
        for item in row["breakdown"]["items"]:
            info = catalog.get(item["code"])
            item["name"], item["name_en"] = (info[0], info[1]) if info else (None, None)
    return rows
