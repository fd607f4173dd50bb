"""Signed, expiring tokens: staff logins and callers' call tokens (for resume).

A staff token carries its account's token version. Bumping the version (a role or
password change, a disabled account, a logout) revokes every older token: `Tokens.check`
compares the two on every HTTP request and socket.io connection, through `AccountVersions`,
a cache that reads the database at most once per account every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

log = logging.getLogger(__name__)

ROLES = ("specialist", "admin")


@dataclass(frozen=True)
class Identity:
    account_id: int
    role: str
    username: str
    version: int = 0  # the account's token version when the token was issued


# (token_version, disabled) of an account, or None when it does not exist.
TokenState = tuple[int, bool] | None


class AccountVersions:
    """Account id -> (token version, disabled), read from the database at most every `ttl_s`.

    - Changes made through this process are noted at once (`note`), so a revocation here
      takes effect on the next request; a change made elsewhere (another node, the command
      line) within `ttl_s`.
    - While the database does not answer (a read failed or took longer than `timeout_s`),
      the last value read is used; an account never read by this process is then refused
      with `service_unavailable`. After a failure, the database is left alone for `retry_s`,
      so an outage adds no wait to every request.
    - Concurrent checks of one account share one read.
    """

    def __init__(self, read: Callable[[int], Awaitable[TokenState]], *, ttl_s: float = 5.0,
                 timeout_s: float = 1.0, retry_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self._read = read
        self.ttl_s, self.timeout_s, self.retry_s = ttl_s, timeout_s, retry_s
        self._clock = clock
        self._known: dict[int, tuple[TokenState, float]] = {}  # id -> (state, read at)
        self._reads: dict[int, asyncio.Future] = {}
        self._generation: dict[int, int] = {}  # bumped by `note`: a read begun before must not overwrite it
        self._down_until = 0.0

    def note(self, account_id: int, state: TokenState) -> None:
        """This process just changed the account: `state` is authoritative."""
        self._generation[account_id] = self._generation.get(account_id, 0) + 1
        self._known[account_id] = (state, self._clock())

    async def state(self, account_id: int) -> TokenState:
        now = self._clock()
        known = self._known.get(account_id)
        if known is not None and (now - known[1] < self.ttl_s or now < self._down_until):
            return known[0]
        if now < self._down_until:
            raise _unavailable()
        read = self._reads.get(account_id)
        if read is None:
            read = self._reads[account_id] = asyncio.ensure_future(self._fetch(account_id))
            read.add_done_callback(lambda _f: self._reads.pop(account_id, None))
        state, ok = await asyncio.shield(read)
        if ok:
            return state
        if known is not None:
            return known[0]
        raise _unavailable()

    async def _fetch(self, account_id: int) -> tuple[TokenState, bool]:
        generation = self._generation.get(account_id, 0)
        try:
            state = await asyncio.wait_for(self._read(account_id), self.timeout_s)
        except Exception as exc:  # the database is down or slow: the last value read stands
            if self._clock() >= self._down_until:
                log.warning("token versions cannot be read (%s); using the last known", exc)
            self._down_until = self._clock() + self.retry_s
            return None, False
        if self._generation.get(account_id, 0) == generation:
            self._known[account_id] = (state, self._clock())
        else:  # noted meanwhile: the note is newer than what this read saw
            state = self._known[account_id][0]
        return state, True


def _unavailable() -> Exception:
    from .engine.errors import Unavailable  # here: the engine imports this module

    return Unavailable("service_unavailable", "sign-in cannot be checked for a moment; try again")


class Tokens:
    def __init__(self, secret_key: str, ttl_s: int, versions: AccountVersions | None = None):
        self._staff = URLSafeTimedSerializer(secret_key, salt="vw-staff")
        self._call = URLSafeTimedSerializer(secret_key, salt="vw-call")
        self.ttl_s = ttl_s
        self.versions = versions  # None: signatures only (engine unit tests)

    def issue(self, account: dict) -> str:
        return self._staff.dumps({"id": account["id"], "role": account["role"], "u": account["username"],
                                  "v": int(account.get("token_version", 0))})

    def verify(self, token: object, role: str | None = None) -> Identity | None:
        """The identity in a validly signed, unexpired token (of `role` if given), else None.
        This does not check revocation: use `check` for that."""
        if not isinstance(token, str) or not token:
            return None
        try:
            data = self._staff.loads(token, max_age=self.ttl_s)
        except (BadSignature, SignatureExpired):
            return None
        # Tokens issued before versions existed carry none: version 0, which every account had then.
        ident = Identity(account_id=int(data["id"]), role=data["role"], username=data["u"], version=int(data.get("v", 0)))
        if role is not None and ident.role != role:
            return None
        return ident

    async def check(self, token: object, role: str | None = None) -> Identity | None:
        """`verify`, and the token is not revoked: its version is the account's, the account
        exists and is not disabled. Raises Unavailable when that cannot be known (auth.py)."""
        ident = self.verify(token, role)
        if ident is None or self.versions is None:
            return ident
        state = await self.versions.state(ident.account_id)
        if state is None or state[1] or state[0] != ident.version:
            return None
        return ident

    def call_token(self, call_id: str) -> str:
        return self._call.dumps(call_id)

    def verify_call_token(self, token: object) -> str | None:
        """The call id a caller may resume, or None. Valid for a day: a session never lasts longer."""
        if not isinstance(token, str) or not token:
            return None
        try:
            return self._call.loads(token, max_age=24 * 3600)
        except (BadSignature, SignatureExpired):
            return None
