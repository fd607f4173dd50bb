"""Several people in one call, in the log (issue 13): the participant rows of a session, written by
the session writer and read with the session (the metrics and scores read them too: store/metrics.py).

A back office row with `wait_ms` is one accepted invitation (its first mode: consult or conference);
a consult turned into a conference adds a `conference` row without `wait_ms`; the session a
hand-over opens starts with a `handover` row (engine/roster.py writes them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import SessionParticipant as P, iso


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


__all__ = ["PARTICIPANT_OPS", "participant_dict", "participants_of", "write_participant"]
