"""Several people in one call, in the log (issue 13): the participant rows of a session, and the
figures the metrics and the scores read from them.

A back office row with `wait_ms` is one accepted invitation (its first mode: consult or conference);
a consult turned into a conference adds a `conference` row without `wait_ms`; the session a
hand-over opens starts with a `handover` row (engine/roster.py writes them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CallSession as S, Rating, SessionEvent as E, SessionParticipant as P, iso


PARTICIPANT_OPS = ("participant", "participant_left")  # the session writer's records of these rows


def _decode(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def write_participant(db: AsyncSession, r: dict) -> None:
    """Apply one of the session writer's participant records (store/writer.py) in its transaction."""
    if r["op"] == "participant":
        db.add(P(session_id=r["id"], role=r["role"], account_id=r["account_id"],
                 display_name=r["display_name"][:200], mode=r["mode"], invite_id=r["invite_id"],
                 wait_ms=r.get("wait_ms"), joined_at=_decode(r["at"])))
        return
    await db.flush()  # rows added earlier in the same group are closed too
    open_rows = [P.session_id == r["id"], P.left_at.is_(None)]
    if r["role"] is not None:
        open_rows += [P.role == r["role"],
                      P.account_id.is_(None) if r["account_id"] is None else P.account_id == r["account_id"]]
    for row in await db.scalars(select(P).where(*open_rows)):
        row.left_at = _decode(r["at"])


def participant_dict(p: P) -> dict:
    return {"role": p.role, "account_id": p.account_id, "display_name": p.display_name, "mode": p.mode,
            "invite_id": p.invite_id, "wait_ms": p.wait_ms, "joined_at": iso(p.joined_at),
            "left_at": iso(p.left_at) if p.left_at is not None else None}


async def participants_of(db: AsyncSession, session_id: str) -> list[dict]:
    rows = await db.scalars(select(P).where(P.session_id == session_id).order_by(P.joined_at, P.id))
    return [participant_dict(p) for p in rows]


def _percentile(values: list[int], p: float) -> int | None:
    """Nearest rank over sorted values."""
    if not values:
        return None
    return values[max(0, min(len(values) - 1, -(-len(values) * p // 100) - 1))]


def _reach(values: list[int]) -> dict:
    values = sorted(values)
    return {"mean": round(sum(values) / len(values), 1) if values else None,
            "p50": _percentile(values, 50), "p90": _percentile(values, 90)}


async def several_figures(db: AsyncSession, in_range: list) -> tuple[dict, dict[str, dict]]:
    """(totals, per service item): invitations, consults, conferences, hand-overs and the time to reach
    the back office, for the sessions created in the range (docs/contract.md, Metrics)."""
    blank = lambda: {"consults": 0, "conferences": 0, "handovers": 0, "reach": []}  # noqa: E731
    items: dict[str, dict] = defaultdict(blank)
    conferenced: set[str] = set()
    rows = await db.execute(select(S.service_item_code, P.session_id, P.mode, P.wait_ms)
                            .join(P, P.session_id == S.id).where(*in_range, P.role == "back_office"))
    for code, session_id, mode, wait_ms in rows:
        item = items[code]
        if wait_ms is not None:
            item["reach"].append(wait_ms)
            if mode == "consult":
                item["consults"] += 1
        if mode == "conference" and session_id not in conferenced:
            conferenced.add(session_id)
            item["conferences"] += 1
        elif mode == "handover":
            item["handovers"] += 1
    ended = {"declined": 0, "timeout": 0}
    invites = 0
    events = await db.execute(select(E.type, E.data["reason"].as_string()).join(S, S.id == E.session_id)
                              .where(*in_range, E.type.in_(("invited", "invite_ended"))))
    for kind, reason in events:
        if kind == "invited":
            invites += 1
        elif reason in ended:
            ended[reason] += 1
    totals = {
        "invites": invites, "declined": ended["declined"], "timed_out": ended["timeout"],
        **{k: sum(i[k] for i in items.values()) for k in ("consults", "conferences", "handovers")},
        "reach_back_office_ms": _reach([v for i in items.values() for v in i["reach"]]),
    }
    per_item = {code: {"consults": i["consults"], "conferences": i["conferences"], "handovers": i["handovers"],
                       "reach_back_office_ms": _reach(i["reach"])["mean"]} for code, i in items.items()}
    return totals, per_item


async def back_office_cells(db: AsyncSession, in_range: list, threshold_ms: float) -> list[tuple]:
    """Per (invited specialist, service item): sessions assisted (invitations accepted), those accepted
    within the answer target, and the callers' ratings of those sessions — the back office's part of
    the scores (store/scores.py)."""
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


__all__ = ["participants_of", "several_figures", "back_office_cells", "participant_dict"]
