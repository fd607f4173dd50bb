"""Opening hours in the engine: a `call:request` while closed is refused, and after closing the
sessions still waiting with nobody left to answer them end.

The rule for sessions already waiting when the center closes: a real center serves the people
already in its queue, so they stay and are answered as usual, as long as a specialist who can
take the queue is staffed (ready, ringing, busy or in wrap-up). Once the center is closed for the
session's service item and nobody is staffed for its queue, the session ends `missed` with the
reason `closed` (the caller's page then shows the hours and the next opening), so that no caller
is left waiting for nobody.

The decisions are routing/hours.py's (pure); this part holds the current configuration, which
the engine reloads at start-up, after each administrator's change, and every minute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from ..routing import Router
from ..routing.calendar import OfficialCalendar
from ..routing.hours import Hours
from ..store.hours import HoursConfig
from ..store.models import iso
from .errors import Closed
from .live import LiveSession

SWEEP_S = 1.0  # how often waiting sessions are checked against the hours (monotonic seconds)


class OpeningHours:
    def __init__(self, calendar: OfficialCalendar | None = None):
        self.calendar = calendar or OfficialCalendar()
        self.hours = Hours(calendar=self.calendar)
        self._swept_at = float("-inf")

    def configure(self, config: HoursConfig) -> None:
        self.hours = Hours(center=config.center, items=dict(config.items), overrides=dict(config.overrides),
                           calendar=self.calendar)

    def check_request(self, service_item: str, now: datetime) -> None:
        """Raise `Closed` (with the next opening) when `service_item` takes no calls at `now`."""
        if self.hours.open_at(now, service_item):
            return
        opens = self.hours.next_open(now, service_item)
        if opens is None:
            raise Closed("the center is closed and no opening hours are set ahead", None)
        local = opens.astimezone(self.hours.tz(service_item))
        zone = self.hours.schedule_for(service_item).time_zone
        raise Closed(f"the center is closed now; it opens at {local:%Y-%m-%d %H:%M} ({zone})", iso(opens))

    def left_waiting(self, live: Iterable[LiveSession], router: Router, now: datetime, mono: float) -> list[LiveSession]:
        """The unanswered sessions to end now: closed for their item, and nobody staffed for their
        queue. Checked at most every SWEEP_S, and only when some schedule is set."""
        if not self.hours.any_scheduled or mono - self._swept_at < SWEEP_S:
            return []
        self._swept_at = mono
        out = []
        for session in live:
            queue = router.session_queue(session.id)
            if session.answered or queue is None or self.hours.open_at(now, session.service_item["code"]):
                continue
            if not router.queue_live(queue, mono)["staffed"]:
                out.append(session)
        return out
