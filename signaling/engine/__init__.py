"""The session engine: decides in memory, tells participants at once, writes in order.

- presence.py: who is connected, on which socket;
- sessions.py: the session state machine (requests, offers, answers, ends, media joins);
- incall.py: hold, screen share, chat, documents, transfer, rating;
- supervision.py: administrators monitoring live calls;
- readmodels.py: the wallboard, one queue now, a specialist's day;
- engine.py: the facade the adapters call, with the lock and the clock;
- errors.py: the domain errors the adapters translate.
"""

from .engine import SessionEngine
from .errors import BadInput, Conflict, DomainError, Forbidden, NotFound, TooMany, Unauthorized, Unavailable

__all__ = ["SessionEngine", "DomainError", "BadInput", "Conflict", "Forbidden", "NotFound", "TooMany",
           "Unauthorized", "Unavailable"]
