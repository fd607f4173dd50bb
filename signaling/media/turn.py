"""TURN short-term credentials: the TURN REST API (coturn's `use-auth-secret`).

The server and the TURN server share a secret (`VW_TURN_SECRET`, coturn's
`static-auth-secret`). A credential is ``username = "<expiry unix time>:<id>"``
and ``credential = base64(HMAC-SHA1(secret, username))``; the TURN server
recomputes it and refuses it once the expiry has passed, so what a page is
handed stops working by itself (draft-uberti-behave-turn-rest-00).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

# turn:host[:port][?transport=udp|tcp] or turns:..., as browsers and aiortc take them.
_TURN_URL = re.compile(r"turns?:(\[[0-9a-fA-F:.]+\]|[^\s:?\[\]/]+)(:\d{1,5})?(\?transport=(udp|tcp))?")


def check_turn_url(url: str) -> str:
    """`url` if it is a turn: or turns: URL, else ValueError."""
    if not _TURN_URL.fullmatch(url):
        raise ValueError(f"{url!r} is not a TURN URL such as turn:turn.example.org:3478?transport=udp")
    return url


def turn_credential(secret: str, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)), as coturn computes it for `use-auth-secret`."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class TurnRest:
    """TURN servers whose credentials are made from a shared secret, valid for `ttl_s`."""

    urls: tuple[str, ...]
    secret: str
    ttl_s: float

    def expiry(self, now: float | None = None) -> int:
        """When credentials made now stop working (unix seconds)."""
        return int((time.time() if now is None else now) + self.ttl_s)

    def server(self, now: float | None = None) -> dict[str, Any]:
        """One ICE server entry `{urls, username, credential}` with fresh credentials.

        The id after the expiry is random: it only tells allocations apart in
        the TURN server's log (nobody is named to it).
        """
        username = f"{self.expiry(now)}:vw{secrets.token_hex(4)}"
        return {"urls": list(self.urls), "username": username, "credential": turn_credential(self.secret, username)}
