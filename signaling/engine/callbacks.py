"""Keep my place in the engine: a waiting caller may leave; at its turn it is alerted (the page, if
still open, and the notifier webhook), and has a set time to come back.

The rules are the router's (`Router.keep_place`, `callback_accept`, the `CallbackDue` decision and
the `callback_not_taken` end); this part checks that the caller may, records each step in the
session log (`callback_requested`, `callback_due`, `callback_reached`, `callback_missed`, which the
callbacks list and Metrics read) and tells the caller and the webhook.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from ..routing import CallbackDue
from ..store.models import iso
from .errors import Conflict
from .live import LiveSession

if TYPE_CHECKING:
    from ..notify import Notifier
    from .sessions import SessionMachine

log = logging.getLogger(__name__)


def resume_url(base_url: str, session: LiveSession) -> str:
    """The link that brings a caller back to its place (the caller page resumes and accepts)."""
    return f"{base_url}/?resume={session.token}"


class Callbacks:
    def __init__(self, sessions: "SessionMachine", notifier: "Notifier", base_url: str, enabled: bool = True):
        self.sessions = sessions
        self.notifier = notifier
        self.base_url = base_url
        self.enabled = enabled
        sessions.on_routed.append(self._routed)

    async def keep_place(self, sid: str, session_id: str) -> dict:
        """`call:keep_place`: the ack carries the resume link and the time the caller will have."""
        if not self.enabled:
            raise Conflict("callbacks_disabled", "this center does not keep places")
        _, session = self.sessions.joined(sid, session_id, answered=False)
        if session.answered:
            raise Conflict("already_answered", "this call is already answered")
        router = self.sessions.router
        first = router.callback_state(session.id) is None
        await self.sessions.apply(router.keep_place(session.id, self.sessions.clock()))
        if first:
            self.sessions.writer.event(session.id, "callback_requested", self.sessions.now())
        return {"callback": {"state": router.callback_state(session.id) or "held",
                             "resume_url": resume_url(self.base_url, session), "resume_token": session.token,
                             "accept_s": router.callback_accept_s}}

    async def accept(self, sid: str, session_id: str) -> dict:
        """`call:callback_accept` ("I'm here", or the page opened from the resume link)."""
        _, session = self.sessions.joined(sid, session_id, answered=False)
        router = self.sessions.router
        state = router.callback_state(session.id)
        await self.sessions.apply(router.callback_accept(session.id, self.sessions.clock()))
        self.sessions.writer.event(session.id, "callback_reached", self.sessions.now(), {"alerted": state == "alerted"})
        return {"state": "queued"}

    async def _routed(self, d) -> None:
        if not isinstance(d, CallbackDue):
            return
        session = self.sessions.live.get(d.call_id)
        if session is None:
            return
        now = self.sessions.now()
        accept_by = iso(now + timedelta(seconds=d.accept_s))
        self.sessions.writer.event(session.id, "callback_due", now, {"accept_s": d.accept_s})
        log.info("callback due: %s has %d s to come back", session.reference or session.id, d.accept_s)
        await self.sessions.presence.to_caller(session, "call:callback_due", {
            "call_id": session.id, "reference": session.reference, "accept_s": d.accept_s, "accept_by": accept_by,
        })
        self.notifier.send("callback_due", {
            "reference": session.reference, "call_id": session.id,
            "service_item": {k: session.service_item.get(k) for k in ("code", "name", "name_en")},
            "caller": {"name": session.caller.get("name"), "phone": session.caller.get("phone")},
            "resume_url": resume_url(self.base_url, session), "due_at": iso(now), "accept_by": accept_by,
        })
