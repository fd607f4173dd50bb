"""`call:video`: one party's video paused for the other side, or back, because the receiving
side's network is too weak for video (the media plane decides: media/adaptation.py).

Told to both parties, naming whose video it is (`party`): the receiver sees why the picture
stopped, the sender that the other side no longer sees it (docs/contract.md)."""

from __future__ import annotations

from typing import Any

from .live import LiveSession

REASON = "weak_network"


def video_party(session: LiveSession, presence: Any, source: Any) -> str | None:
    """Whose received slot `source` (a media Tap) is in `session`: "caller", "specialist" or None."""
    for party, part in (("caller", presence.get(session.caller_sid) if session.caller_sid else None),
                        ("specialist", presence.specialist(session.specialist_id))):
        leg = part.leg if part is not None else None
        if leg is not None and any(tap is source for tap in leg.inputs().values()):
            return party
    return None


def video_message(call_id: str, party: str, state: str) -> dict:
    return {"call_id": call_id, "party": party, "state": state, "reason": REASON}


async def video_changed(engine: Any, sid: str, state: str, source: Any) -> None:
    """The leg of `sid` paused or resumed the video it receives from `source`: tell both parties."""
    async with engine.lock:
        part = engine.presence.get(sid)
        session = engine.sessions.of(part) if part is not None else None
        party = video_party(session, engine.presence, source) if session is not None else None
        if party is None:
            return
        message = video_message(session.id, party, state)
        await engine.presence.to_caller(session, "call:video", message)
        await engine.presence.to_specialist(session.specialist_id, "call:video", message)
