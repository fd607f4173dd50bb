"""What every HTTP request passes before a handler, and what every response carries.

- **Staff identity** (`staff_identity`): a staff token (Bearer header or the pages' cookie)
  is verified once per request, revocation included (auth.py `Tokens.check`); handlers read
  the result with `params.identity`.
- **Cookie-authenticated writes** (`cookie_writes`): a POST/PUT/PATCH/DELETE that relies on
  the cookie (no Bearer header) must not come from another origin, and sends JSON where JSON
  is expected; where it sends another body (a CSV import, a multipart upload), the request
  must prove it is same-origin. A Bearer header cannot be set cross-origin without a CORS
  preflight, which this server never grants, so those requests need no such check.
- **Login throttling** (`LoginLimits`), per account and per client address.
- **Security headers** on every response (`_headers`), and no `Server` version.

docs/security.md explains each choice and its settings.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import math
import time
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from limits import parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from .. import keys
from ..auth import TokenState
from ..engine import DomainError
from ..engine.presence import ADMIN_NS, AGENT_NS
from ..errors import ApiError
from .params import IDENTITY, bearer_token, token_from_cookie

UNSAFE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
# Routes whose body is not JSON: a cookie-authenticated request must prove it is same-origin.
RAW_BODY_ROUTES = frozenset(("/api/admin/service-items/import", "/api/sessions/{id}/documents",
                             "/api/admin/hours/overrides/import"))
# Paths with their own rules: Socket.IO checks the Origin of its handshake itself (same origin
# only, python-socketio's default) and its polling transport posts text/plain.
_EXEMPT_PREFIXES = ("/socket.io/",)

# The pages are ES modules and stylesheets of this origin, with the vendored socket.io client;
# blob: for document thumbnails and downloads. `style-src-attr` allows the few computed
# `style="width:…"` attributes (bars) without allowing any <style> element.
# tests/browser/test_csp_browser.py fails on any violation.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
            "img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON and text: nothing to load, never framed
MEDIA_CSP = "frame-ancestors 'none'"  # a recording opened in a tab must still play
_PAGE_PATHS = ("/", "/console", "/admin")
_STATIC_PREFIXES = ("/c/", "/s/", "/lib/")
SERVER_NAME = "virtual-window"
_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


# ---- who is asking ---------------------------------------------------------------


def _networks(settings) -> list:
    return [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]


def _trusted(address: str | None, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(request: web.Request) -> str:
    """The client's address: the peer's, or, when the peer is a trusted reverse proxy
    (VW_TRUSTED_PROXIES), the right-most X-Forwarded-For entry that is not a trusted proxy."""
    networks = request.app[PROXIES]
    peer = request.remote or ""
    if not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def _own_hosts(request: web.Request) -> set[str]:
    hosts = {request.host.lower()}
    if _trusted(request.remote, request.app[PROXIES]):
        hosts.update(h.strip().lower() for h in request.headers.get("X-Forwarded-Host", "").split(",") if h.strip())
    return hosts


def same_origin(request: web.Request) -> bool | None:
    """True / False when the browser said where the request comes from (Origin, or
    Sec-Fetch-Site), None when nothing says (a non-browser client, or a very old browser)."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None:
        try:
            netloc = urlsplit(origin).netloc.lower()  # "null" (a sandboxed page) has none
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return False
        return bool(netloc) and netloc in _own_hosts(request)
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    return None


@web.middleware
async def cookie_writes(request: web.Request, handler) -> web.StreamResponse:
    if request.method in UNSAFE_METHODS and token_from_cookie(request) and not request.path.startswith(_EXEMPT_PREFIXES):
        site = same_origin(request)
        if site is False:
            raise ApiError("cross_origin", "a request from another site cannot use the login cookie", 403)
        resource = request.match_info.route.resource
        if resource is not None and resource.canonical in RAW_BODY_ROUTES:
            if site is not True:
                raise ApiError("same_origin_required", "with the login cookie, this needs a same-origin request "
                               "(or send the token as Authorization: Bearer)", 403)
        elif request.body_exists and request.content_type != "application/json":
            raise ApiError("unsupported_media_type", "send the body as application/json", 415)
    return await handler(request)


@web.middleware
async def single_query_values(request: web.Request, handler) -> web.StreamResponse:
    """An API query parameter given twice is refused: which one counts would be a guess."""
    if request.path.startswith("/api/") and len(request.query) != len(set(request.query)):
        repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
        raise ApiError("invalid_value", f"query parameters given more than once: {', '.join(repeated)[:200]}", 400)
    return await handler(request)


@web.middleware
async def staff_identity(request: web.Request, handler) -> web.StreamResponse:
    """Verify the staff token once; `params.identity` answers from the result. A token whose
    revocation cannot be checked (database down, account unknown here) is kept as the error,
    raised only where an identity is needed."""
    token = bearer_token(request)
    if token is not None and not request.path.startswith(_EXEMPT_PREFIXES):
        try:
            request[IDENTITY] = await request.app[keys.TOKENS].check(token)
        except DomainError as exc:
            request[IDENTITY] = exc
    return await handler(request)


# ---- login throttling ------------------------------------------------------------


class LoginLimits:
    """Moving windows (the `limits` library, in memory, per process):

    - per account: attempts that did not succeed, e.g. 5/minute;20/hour. An attempt counts from
      the moment it starts, so concurrent guesses cannot all slip in; a success clears them.
    - per client address: failed attempts, e.g. 30/minute;300/hour (successes do not count: an
      office behind one NAT signs in at the start of a shift), and at most `AT_ONCE` attempts
      in progress, so one address cannot fill the queue for the password hashes.

    Over any of them, the login is refused with 429 and Retry-After *before* a password hash
    is computed, the right password included: that is the lockout. Refused attempts are not
    counted, so the lockout ends when the window has moved past the earlier attempts.
    """

    AT_ONCE = 8

    def __init__(self, account_limits: str, address_limits: str):
        # The asyncio flavour, as realtime/guard.py uses (no lock shared with the database threads).
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._account = parse_many(account_limits)
        self._address = parse_many(address_limits)
        self._lock = asyncio.Lock()
        self._running: dict[str, int] = {}  # address -> attempts in progress

    async def attempt(self, username: str, address: str) -> None:
        """Start one attempt (end it with `done`), or raise 429."""
        account = [(item, "account", username[:64]) for item in self._account]
        windows = account + [(item, "address", address) for item in self._address]
        async with self._lock:  # test-then-hit as one step, so concurrent guesses cannot slip between
            full = [k for k in windows if not await self._limiter.test(*k)]
            if not full and self._running.get(address, 0) < self.AT_ONCE:
                for k in account:
                    await self._limiter.hit(*k)
                self._running[address] = self._running.get(address, 0) + 1
                return
            reset = max([(await self._limiter.get_window_stats(*k)).reset_time for k in full], default=0)
        retry = max(1, math.ceil(reset - time.time()))
        raise ApiError("too_many_requests", f"too many login attempts; try again in {retry} s", 429,
                       {hdrs.RETRY_AFTER: str(retry)})

    async def done(self, username: str, address: str, succeeded: bool | None) -> None:
        """End an attempt: True the password was right, False wrong, None not judged."""
        left = self._running.get(address, 1) - 1
        if left:
            self._running[address] = left
        else:
            self._running.pop(address, None)
        if succeeded:
            for item in self._account:
                await self._limiter.clear(item, "account", username[:64])
        elif succeeded is False:
            for item in self._address:
                await self._limiter.hit(item, "address", address)


# ---- revoked sockets ---------------------------------------------------------------


async def account_changed(app: web.Application, account_id: int, state: TokenState) -> None:
    """An account was changed through this process and its token state is now `state`: note
    it, and close the account's /agent and /admin sockets that hold a revoked token. A
    specialist in a call then drops into the reconnect grace and, unable to reconnect with
    the revoked token, the call ends after it."""
    versions = app[keys.TOKENS].versions
    if versions is not None:
        versions.note(account_id, state)
    engine, sio = app.get(keys.ENGINE), app.get(keys.SIO)
    if engine is None or sio is None:
        return
    namespaces = {"specialist": AGENT_NS, "admin": ADMIN_NS}
    for part in list(engine.presence.participants.values()):
        ident = part.identity
        if ident is None or ident.account_id != account_id or part.role not in namespaces:
            continue
        if state is None or state[1] or state[0] != ident.version:
            await sio.disconnect(part.sid, namespace=namespaces[part.role])


# ---- /metrics ------------------------------------------------------------------------


def check_metrics_token(request: web.Request) -> None:
    expected = request.app[keys.SETTINGS].metrics_token
    if expected is None:
        return
    given = request.headers.get(hdrs.AUTHORIZATION, "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        raise ApiError("unauthorized", "the metrics token is required (Authorization: Bearer)", 401,
                       {hdrs.WWW_AUTHENTICATE: "Bearer"})


# ---- headers -------------------------------------------------------------------------


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    for name, value in _HEADERS.items():
        headers.setdefault(name, value)
    if hdrs.CONTENT_SECURITY_POLICY not in headers:
        ctype = response.content_type or ""
        # By path too: a browser keeps the headers of a 304 (no content type) for the page it revalidated.
        page = ctype.startswith("text/html") or request.path in _PAGE_PATHS or request.path.startswith(_STATIC_PREFIXES)
        headers[hdrs.CONTENT_SECURITY_POLICY] = (PAGE_CSP if page else OTHER_CSP
                                                 if ctype.startswith(("application/json", "text/")) else MEDIA_CSP)
    headers[hdrs.SERVER] = SERVER_NAME  # not aiohttp's "Python/3.x aiohttp/3.y"


PROXIES: web.AppKey[list] = web.AppKey("trusted_proxies", list)
LOGIN_LIMITS: web.AppKey[LoginLimits] = web.AppKey("login_limits", LoginLimits)


def setup_security(app: web.Application) -> None:
    """The middlewares (after the error middleware, which shapes their refusals) and headers."""
    settings = app[keys.SETTINGS]
    app[PROXIES] = _networks(settings)
    app[LOGIN_LIMITS] = LoginLimits(settings.login_account_limits, settings.login_address_limits)
    app.middlewares.extend([single_query_values, cookie_writes, staff_identity])
    app.on_response_prepare.append(_headers)
