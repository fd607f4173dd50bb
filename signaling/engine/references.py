"""Session references: the short number a caller keeps, `XH-20261202-0042`.

`PREFIX-YYYYMMDD-NNNN`: the center's prefix (`VW_REFERENCE_PREFIX`), the
center's local date (`VW_TIME_ZONE`) and that day's counter, at least four
digits. At most 20 characters (contract v1.1): a prefix of 1-5 letters or
digits leaves room for five digits, 99,999 sessions a day.

The engine decides the reference in memory, like everything on the call path,
and hands it to the session writer with the session's `create` record; the
unique index on `sessions.reference` (migration 0012) is the last guard.

One process owns the counter. At start-up, after the writer has replayed its
journal (so every reference handed out before a crash is in the database),
`seed` reads the highest counter of today from the log; a day the process
has not seeded starts at 1 (no one else writes references). A later cluster
mode replaces this class with one of the same two methods over a shared
counter (e.g. Redis `INCR vw:ref:<prefix>:<date>` with an expiry of a few
days, seeded the same way with `SET NX`): `next` stays synchronous by
reserving blocks of numbers ahead.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

MAX_LENGTH = 20
MIN_DIGITS = 4
PREFIX = re.compile(r"[A-Z0-9]{1,5}")


class ReferenceSettingError(ValueError):
    """A reference setting that cannot work (a bad prefix or an unknown time zone)."""


def check_prefix(prefix: str) -> str:
    if not PREFIX.fullmatch(prefix):
        raise ReferenceSettingError(f"VW_REFERENCE_PREFIX must be 1-5 capital letters or digits, not {prefix!r}")
    return prefix


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ReferenceSettingError(f"VW_TIME_ZONE {name!r} is not a known IANA time zone (e.g. Asia/Shanghai)") from None


def format_reference(prefix: str, day: date, number: int) -> str:
    return f"{prefix}-{day:%Y%m%d}-{number:0{MIN_DIGITS}d}"


def parse_number(reference: str) -> int | None:
    """The day's counter of a reference, None if it is not one of ours."""
    _, _, tail = reference.rpartition("-")
    return int(tail) if tail.isdigit() else None


class ReferenceSequence:
    """Hands out `PREFIX-YYYYMMDD-NNNN`, one per session, unique within the prefix."""

    def __init__(self, prefix: str, zone: ZoneInfo):
        self.prefix = check_prefix(prefix)
        self.zone = zone
        self._day: date | None = None
        self._last = 0  # the last number handed out on `_day`

    def day_of(self, at: datetime) -> date:
        """The center's local date of an instant (aware, or naive UTC)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo("UTC"))
        return at.astimezone(self.zone).date()

    def day_pattern(self, day: date) -> str:
        """What every reference of `day` starts with (the store's lookup)."""
        return f"{self.prefix}-{day:%Y%m%d}-"

    async def seed(self, at: datetime, last_number: Callable[[str], Awaitable[int]]) -> None:
        """Start after the highest number the log already holds for the day of `at`.
        `last_number(pattern)` answers it from the database (Store.last_reference_number)."""
        day = self.day_of(at)
        highest = await last_number(self.day_pattern(day))
        if self._day != day:
            self._day, self._last = day, highest
        else:
            self._last = max(self._last, highest)

    def next(self, at: datetime) -> str | None:
        """The reference of a session requested at `at`; None past 99,999 in a day (the id is shown then)."""
        day = self.day_of(at)
        if day != self._day:
            self._day, self._last = day, 0
        number = self._last + 1
        reference = format_reference(self.prefix, day, number)
        if len(reference) > MAX_LENGTH:
            log.error("no session reference left for %s (prefix %s): the session id is shown instead", day, self.prefix)
            return None
        self._last = number
        return reference
