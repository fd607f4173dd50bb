"""Read models: the live wallboard, one queue now, and a specialist's day.

They read the router and the live sessions in memory; today's figures come from
the store's report pool, which the call path never uses.
"""

from __future__ import annotations

from datetime import datetime

from ..store import Store
from ..store.documents import specialist_day
from .sessions import SessionMachine
from .supervision import Supervision


def local_midnight() -> datetime:
    """The start of the center's "today": midnight in the server's local time zone."""
    return datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


class ReadModels:
    def __init__(self, sessions: SessionMachine, supervision: Supervision, store: Store):
        self.sessions = sessions
        self.supervision = supervision
        self.router = sessions.router
        self.store = store
        self.answer_target_s = sessions.settings.answer_target_s

    def queue_live(self, service_item: str) -> dict:
        """One queue right now: waiting, longest wait, staffing, average handle time."""
        return self.router.queue_live(service_item, self.sessions.clock())

    async def wallboard(self) -> dict:
        """The `/admin` `stats` payload: queues, specialists, calls now, and today's figures."""
        m = await self.store.metrics(since=local_midnight(), until=None, threshold_s=self.answer_target_s, detail=False)
        today = {k: m[k] for k in ("offered", "answered", "abandoned", "service_level",
                                   "missed", "service_level_abandons", "asa_ms", "threshold_s")}
        now = self.sessions.clock()
        return {"queues": self.router.queues(now), "specialists": self.router.counts_by_state(),
                "calls": self.live_calls(), "today": today}

    def live_calls(self) -> list[dict]:
        """Answered calls not ended yet, longest first (the wallboard's "Monitor" list)."""
        now = self.sessions.clock()
        watchers = self.supervision.watchers()
        presence = self.sessions.presence
        calls = []
        for session in self.sessions.live.values():
            if not session.answered:
                continue
            account = presence.account(session.specialist_id)
            started = session.answered_mono if session.answered_mono is not None else now
            calls.append({
                "call_id": session.id,
                "service_item": session.service_item,
                "caller": {"name": session.caller.get("name"), "company": session.caller.get("company")},
                "specialist": {"id": session.specialist_id, "username": account.get("username"),
                               "display_name": account.get("display_name")},
                "talk_s": round(max(0.0, now - started)),
                "media": session.media_flowing,
                "held": session.held,
                "monitored_by": sorted(watchers.get(session.id, [])),
                # Several people in one call: consult or conference, and the invited specialist in it.
                "mode": session.mode,
                "back_office": ({"id": session.guest.specialist_id,
                                 "display_name": presence.account(session.guest.specialist_id).get("display_name")}
                                if session.guest is not None else None),
            })
        return sorted(calls, key=lambda c: -c["talk_s"])

    async def my_day(self, specialist_id: int) -> dict:
        return await specialist_day(self.store, specialist_id, local_midnight(), self.answer_target_s)
