"""How long a waiting caller still waits: recent handle times and the specialists staffed with
the queue's skill (the model and its inputs: docs/routing.md, "Position and estimated wait").

Pure arithmetic: the router hands in what it knows (its clock, where each specialist is in its
call); nothing here keeps time or does I/O.

The model. Every specialist who may take the queue's calls becomes free at some moment: at once
when ready, after what is left of its current call when busy or in wrap-up, after a whole call
when ringing for another session. Callers take the specialists in queue order, each the first
one free, who is then free again one average handle time later. A caller's estimate is the
moment its turn comes. Unlike Erlang C's memoryless average this uses how long each current
call has lasted, so the estimate counts down while calls run; a call past the average is never
assumed to end at once (`left_of_call`), so the estimate does not fall below what is plausible.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Iterable

DEFAULT_HANDLE_S = 180.0  # the average handle time before the center has any history
WINDOW_S = 3600.0  # handle times older than this are forgotten
WINDOW_CALLS = 50  # and a queue keeps at most this many (the center 4 times as many)
MIN_CALLS = 3  # a queue with fewer recent calls uses the center's average
OVERDUE_SHARE = 0.25  # a call that has run past the average has at least this share of it left
MIN_LEFT_S = 10.0  # and at least this long

# The estimate alone (same position, same staffing) is re-sent at most this often, and only when
# it differs from what the caller's page shows by then (the page counts the last one down).
RESEND_MIN_S = 5.0
RESEND_STEP_S = 5.0
RESEND_SHARE = 0.2


class _Window:
    """Handle times of one queue (or the center) within the window, with their running total."""

    def __init__(self, calls: int):
        self.calls = calls
        self.times: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def add(self, at: float, seconds: float) -> None:
        self.times.append((at, seconds))
        self.total += seconds
        if len(self.times) > self.calls:
            self.total -= self.times.popleft()[1]

    def mean(self, since: float, at_least: int) -> float | None:
        times = self.times
        while times and times[0][0] < since:
            self.total -= times.popleft()[1]
        if len(times) < at_least:
            return None
        if not times:
            self.total = 0.0  # no rounding error left over
        return max(0.0, self.total) / len(times)


class HandleTimes:
    """Recent handle times (answer to the end of wrap-up), per queue and for the whole center."""

    def __init__(self, default_s: float = DEFAULT_HANDLE_S, window_s: float = WINDOW_S, calls: int = WINDOW_CALLS):
        self.default_s = default_s
        self.window_s = window_s
        self.calls = calls
        self._queues: dict[str, _Window] = {}
        self._center = _Window(calls * 4)

    def add(self, queue: str, handle_s: float, now: float) -> None:
        window = self._queues.get(queue)
        if window is None:
            window = self._queues[queue] = _Window(self.calls)
        window.add(now, max(0.0, handle_s))
        self._center.add(now, max(0.0, handle_s))

    def average(self, queue: str, now: float) -> float:
        """The queue's mean over the window; with fewer than MIN_CALLS, the center's; else the default."""
        since = now - self.window_s
        window = self._queues.get(queue)
        own = window.mean(since, MIN_CALLS) if window is not None else None
        if own is not None:
            return own
        center = self._center.mean(since, 1)
        return self.default_s if center is None else center


def least_left(aht: float) -> float:
    """The least time assumed left of a call in progress, however long it has run already."""
    return max(OVERDUE_SHARE * aht, MIN_LEFT_S)


def left_of_call(aht: float, elapsed: float) -> float:
    """Expected time left of a call that has lasted `elapsed` seconds, the average being `aht`."""
    return max(aht - elapsed, least_left(aht))


def waits_in_order(free_in: Iterable[float], count: int, aht: float) -> list[float] | None:
    """The wait of each of `count` callers in queue order, given when each specialist is free
    (`free_in`, seconds from now; 0 = ready). None when nobody can take them."""
    heap = list(free_in)
    if not heap:
        return None
    heapq.heapify(heap)
    out = []
    for _ in range(count):
        t = heapq.heappop(heap)
        out.append(t)
        heapq.heappush(heap, t + aht)
    return out


def whole_seconds(seconds: float) -> int:
    """Rounded up: 0 only when a specialist is free now (a caller is never told "now" too early)."""
    return max(0, math.ceil(seconds - 1e-9))


def worth_resending(sent_s: int | None, sent_at: float, new_s: int | None, now: float) -> bool:
    """Whether a new estimate differs enough from the one the caller's page shows by `now`
    (it counts `sent_s`, sent at `sent_at`, down to 1 s) to be sent again."""
    if sent_s is None or new_s is None or (sent_s == 0) != (new_s == 0):
        return sent_s != new_s  # no estimate, or "free now", begins or ends: at once
    if now - sent_at < RESEND_MIN_S:
        return False
    shown = max(1.0, sent_s - (now - sent_at)) if sent_s else 0.0
    return abs(new_s - shown) >= max(RESEND_STEP_S, RESEND_SHARE * new_s)
