"""The one rule for how an ended session is logged (live end, graceful stop and crash recovery alike)."""

from __future__ import annotations

# Reasons that are the service's own fault: never the caller's abandonment, never a missed call.
SYSTEM_FAULTS = frozenset(("server_shutdown", "server_restart", "node_lost", "store_unavailable"))


def outcome(*, reason: str, ended_by: str, answered: bool, media_flowed: bool) -> str:
    """`answered`, `abandoned`, `missed`, `failed` or `transferred` for a session ending now.

    - a transfer is `transferred`;
    - an answered session is `answered` once its media flowed, else `failed`;
    - before answer: the caller leaving is `abandoned`; the server's own fault
      (stop, crash, lost node, no durable store) is `failed`; a queue rule
      giving up (max wait, nobody staffed) is `missed`.
    """
    if reason == "transferred":
        return "transferred"
    if answered:
        return "answered" if media_flowed else "failed"
    if reason in SYSTEM_FAULTS:
        return "failed"
    return "abandoned" if ended_by == "caller" else "missed"
