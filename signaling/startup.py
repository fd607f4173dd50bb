"""What `serve` and the other commands tell an operator at start-up: the addresses listened on,
and failures the operator can fix, each on one line (no traceback)."""

from __future__ import annotations

import errno
import socket

PAGES = "caller page /, console /console, admin /admin"


class StartupError(Exception):
    """A failure the operator can fix (the port is taken, the database does not answer)."""


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address `host` names, bound before anything else starts so
    that a second server on the port fails at once; connections wait in the backlog meanwhile."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys((family, address) for family, _kind, _proto, _name, address in infos))
    sockets: list[socket.socket] = []
    try:
        for family, address in addresses:
            if sockets and port == 0:  # one port for every address
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        where = f"[{address[0]}]:{address[1]}" if family == socket.AF_INET6 else f"{address[0]}:{address[1]}"
        hint = " (is another server running on it?)" if exc.errno == errno.EADDRINUSE else ""
        raise StartupError(f"cannot listen on {where}: {exc.strerror or exc}{hint}") from None
    return sockets


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


def listening_line(sockets: list[socket.socket]) -> str:
    return f"Virtual Window listening on {' and '.join(url_of(s) for s in sockets)} — {PAGES}"


async def open_database(store) -> None:
    """`store.open()`; a database that cannot be opened is a StartupError (one line)."""
    try:
        await store.open()
    except Exception as exc:
        failure = database_failure(store.database_url, exc)
        if failure is None:
            raise
        raise failure from exc


def database_failure(database_url: str, exc: BaseException) -> StartupError | None:
    """A one-line StartupError when `exc` says the database cannot be opened (no driver for the
    URL, nothing listening, a refused login); None for anything else."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    if not isinstance(exc, (SQLAlchemyError, OSError, ImportError)) and type(exc).__module__.split(".")[0] != "asyncpg":
        return None
    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = repr(database_url)
    reason = getattr(exc, "orig", None) or exc
    first = (str(reason).strip().splitlines() or [type(reason).__name__])[0]
    return StartupError(f"cannot open the database {shown}: {first}")
