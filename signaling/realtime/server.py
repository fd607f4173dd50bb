"""The Socket.IO server and its three namespaces: /caller, /agent, /admin."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiohttp import web

from .. import validate as v
from ..uscc import is_valid as valid_credit_code
from ..uscc import normalise as normalise_credit_code
from ..engine import DomainError, SessionEngine
from ..engine.presence import ADMIN_NS, AGENT_NS, CALLER_NS
from ..errors import ApiError
from .acks import acked
from .guard import GuardedServer

log = logging.getLogger(__name__)

STATS_TASK: web.AppKey[asyncio.Task] = web.AppKey("stats_task")

DISPOSITIONS = ("resolved", "needs_follow_up", "referred", "not_eligible", "other")


def _refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError({"code": code, "message": message})


def _address(environ: dict) -> str:
    """The client's address (engine.io's aiohttp driver leaves REMOTE_ADDR fixed at 127.0.0.1)."""
    request = environ.get("aiohttp.request")
    return (request.remote if request is not None else None) or ""


def _call_action(name: str):
    """A handler for an event whose payload is `{call_id}`: the engine's method `name` answers it."""

    async def handler(self, sid: str, data: Any) -> dict:
        return await getattr(self.engine, name)(sid, v.text(v.obj(data), "call_id", max_len=64))

    handler.__name__ = handler.__qualname__ = name  # what a failure is logged as
    return acked(handler)


def _one_target(p: dict) -> tuple[str | None, str | None]:
    """(service_item, specialist) of a transfer or an invitation: exactly one of them is given."""
    service_item = v.text(p, "service_item", required=False, max_len=64)
    specialist = v.text(p, "specialist", required=False, max_len=64)
    if (service_item is None) == (specialist is None):
        raise ApiError("missing_field", "give exactly one of service_item or specialist", 400)
    return service_item, specialist


class _Namespace(socketio.AsyncNamespace):
    """Dispatches `a:b` event names to handlers registered in `events`."""

    events: dict[str, str] = {}

    def __init__(self, namespace: str, engine: SessionEngine):
        super().__init__(namespace)
        self.engine = engine

    def after_connect(self, sid: str) -> None:
        """Repeat a resumed session's state to `sid` once its connection is established
        (python-socketio runs the connect handler before the client is told it is connected)."""
        asyncio.get_running_loop().call_later(0.05, lambda: self.engine.spawn(self.engine.after_resume(sid)))

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):  # the server's own (clients' are refused in guard.py)
            return await super().trigger_event(event, *args)
        name = self.events.get(event)
        if name is None:
            return ApiError("unknown_event", f"unknown event {event!r}", 400).ack()
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        return await getattr(self, name)(sid, data)

    # Hang-up, chat and media legs are the same on both participant namespaces.
    @acked
    async def hangup(self, sid: str, data: Any) -> dict:
        await self.engine.hangup(sid, v.text(v.obj(data), "call_id", max_len=64))
        return {}

    @acked
    async def chat(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        return {"message": await self.engine.chat(sid, v.text(p, "call_id", max_len=64), v.text(p, "text", max_len=4000))}

    @acked
    async def rtc_offer(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        if p.get("type", "offer") != "offer":
            raise ApiError("bad_sdp", "type must be 'offer'", 400)
        sdp = v.text(p, "sdp", max_len=64_000)
        return {"type": "answer", "sdp": await self.engine.rtc_offer(sid, sdp)}

    @acked
    async def screen(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        sharing = v.boolean(p, "sharing", required=True)
        await self.engine.screen(sid, v.text(p, "call_id", max_len=64), sharing)
        return {"sharing": sharing}

    @acked
    async def rtc_candidate(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        candidate = v.text(p, "candidate", required=True, max_len=2000, allow_empty=True)
        v.text(p, "sdpMid", required=False, max_len=64)
        v.integer(p, "sdpMLineIndex", 0, 16, required=False)
        await self.engine.rtc_candidate(sid, {**p, "candidate": candidate})
        return {}


class CallerNamespace(_Namespace):
    events = {
        "call:request": "request",
        "call:requeue": "requeue",
        "call:keep_place": "keep_place",
        "call:callback_accept": "callback_accept",
        "call:hangup": "hangup",
        "call:rate": "rate",
        "call:screen": "screen",
        "chat:message": "chat",
        "rtc:offer": "rtc_offer",
        "rtc:candidate": "rtc_candidate",
    }

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        resume = auth.get("resume") if isinstance(auth, dict) else None
        try:
            resumed = await self.engine.caller_connected(sid, resume, _address(environ))
        except DomainError as exc:
            raise _refuse(exc.code, exc.message) from exc
        if resumed:
            self.after_connect(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self.engine.caller_disconnected(sid)

    @acked
    async def request(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        # With an appointment (its manage link's token) the booking says the item and the caller.
        appointment = v.text(p, "appointment", required=False, max_len=64)
        service_item = v.text(p, "service_item", required=appointment is None, max_len=64)
        caller = {
            "name": v.text(p, "name", required=appointment is None, max_len=100),
            "company": v.text(p, "company", required=False, max_len=200),
            "phone": v.text(p, "phone", required=False, max_len=40),
        }
        credit_code = v.text(p, "credit_code", required=False, max_len=40)
        if credit_code is not None:
            credit_code = normalise_credit_code(credit_code)
            if not valid_credit_code(credit_code):
                raise ApiError("invalid_credit_code", "credit_code is not a valid unified social credit code", 400)
            caller["credit_code"] = credit_code
        return await self.engine.request(sid, service_item, caller, appointment)

    @acked
    async def keep_place(self, sid: str, data: Any) -> dict:
        return await self.engine.keep_place(sid, v.text(v.obj(data), "call_id", max_len=64))

    @acked
    async def callback_accept(self, sid: str, data: Any) -> dict:
        return await self.engine.callback_accept(sid, v.text(v.obj(data), "call_id", max_len=64))

    @acked
    async def requeue(self, sid: str, data: Any) -> dict:
        return await self.engine.requeue(sid, v.text(v.obj(data), "call_id", max_len=64))

    @acked
    async def rate(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        call_id = v.text(p, "call_id", max_len=64)
        satisfaction = v.integer(p, "satisfaction", 1, 5)
        comment = v.text(p, "comment", required=False, max_len=2000)
        await self.engine.rate(sid, call_id, satisfaction, comment)
        return {}


class AgentNamespace(_Namespace):
    events = {
        "agent:state": "state",
        "call:accept": "accept",
        "call:decline": "decline",
        "call:hangup": "hangup",
        "call:wrapup": "wrapup",
        "call:hold": "hold",
        "call:screen": "screen",
        "call:transfer": "transfer",
        "call:transfer_targets": "transfer_targets",
        "call:invite": "invite",
        "call:invite_cancel": "invite_cancel",
        "call:conference": "conference",
        "call:return": "back_to_caller",
        "call:handover": "handover",
        "call:leave": "leave",
        "agent:day": "day",
        "chat:message": "chat",
        "rtc:offer": "rtc_offer",
        "rtc:candidate": "rtc_candidate",
    }

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            identity = await self.engine.tokens.check(token, role="specialist")  # revoked tokens too
            if identity is None:
                raise _refuse("unauthorized", "a valid specialist token is required")
            resumed = await self.engine.specialist_connected(sid, identity)
        except DomainError as exc:
            raise _refuse(exc.code, exc.message) from exc
        if resumed:  # its console dropped during a call and came back in time
            self.after_connect(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self.engine.specialist_disconnected(sid)

    @acked
    async def state(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        state = v.choice(p, "state", ("ready", "away", "offline"))
        auto_answer = v.boolean(p, "auto_answer")
        return {"state": await self.engine.set_state(sid, state, auto_answer)}

    @acked
    async def accept(self, sid: str, data: Any) -> dict:
        await self.engine.accept(sid, v.text(v.obj(data), "call_id", max_len=64))
        return {}

    @acked
    async def decline(self, sid: str, data: Any) -> dict:
        await self.engine.decline(sid, v.text(v.obj(data), "call_id", max_len=64))
        return {}

    @acked
    async def wrapup(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        await self.engine.wrapup(
            sid,
            v.text(p, "call_id", max_len=64),
            notes=v.text(p, "notes", required=False, max_len=4000),
            disposition=v.choice(p, "disposition", DISPOSITIONS, required=False),
            difficulty=v.integer(p, "difficulty", 1, 5, required=False),
        )
        return {}


    @acked
    async def hold(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        held = v.boolean(p, "hold", required=True)
        return {"held": await self.engine.hold(sid, v.text(p, "call_id", max_len=64), held)}

    @acked
    async def transfer(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        call_id = v.text(p, "call_id", max_len=64)
        service_item, specialist = _one_target(p)
        note = v.text(p, "note", required=False, max_len=500)  # why: shown to whoever answers next
        return await self.engine.transfer(sid, call_id, service_item, specialist, note)

    @acked
    async def invite(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        call_id = v.text(p, "call_id", max_len=64)
        service_item, specialist = _one_target(p)
        mode = v.choice(p, "mode", ("consult", "conference"))
        note = v.text(p, "note", required=False, max_len=500)  # why: shown to the invited specialist
        return await self.engine.invite(sid, call_id, specialist, service_item, mode, note)

    # Several people in one call: events whose payload is just {call_id}, each answered by the engine
    # method of the same name.
    invite_cancel = _call_action("invite_cancel")
    conference = _call_action("conference")
    back_to_caller = _call_action("back_to_caller")
    handover = _call_action("handover")
    leave = _call_action("leave")

    @acked
    async def transfer_targets(self, sid: str, data: Any) -> dict:
        if data is not None:
            v.obj(data)
        return {"specialists": self.engine.transfer_targets(sid)}

    @acked
    async def day(self, sid: str, data: Any) -> dict:
        if data is not None:
            v.obj(data)
        return {"day": await self.engine.my_day(sid)}


class AdminNamespace(_Namespace):
    # The supervisor monitor: a leg (rtc:offer / rtc:candidate, as on the other namespaces) fed with
    # the parties of a live call; in whisper and barge it also sends (docs/contract.md).
    events: dict[str, str] = {
        "rtc:offer": "rtc_offer",
        "rtc:candidate": "rtc_candidate",
        "monitor:start": "monitor_start",
        "monitor:stop": "monitor_stop",
    }

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            identity = await self.engine.tokens.check(token, role="admin")  # revoked tokens too
        except DomainError as exc:
            raise _refuse(exc.code, exc.message) from exc
        if identity is None:
            raise _refuse("unauthorized", "a valid administrator token is required")
        await self.engine.admin_connected(sid, identity)
        await self.enter_room(sid, "wallboard")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self.engine.admin_disconnected(sid)

    @acked
    async def monitor_start(self, sid: str, data: Any) -> dict:
        p = v.obj(data)
        mode = v.choice(p, "mode", ("listen", "whisper", "barge"), required=False) or "listen"
        return await self.engine.monitor_start(sid, v.text(p, "call_id", max_len=64), mode)

    @acked
    async def monitor_stop(self, sid: str, data: Any) -> dict:
        call_id = v.text(v.obj(data), "call_id", required=False, max_len=64) if data is not None else None
        return await self.engine.monitor_stop(sid, call_id)


async def _stats_loop(sio: socketio.AsyncServer, engine: SessionEngine) -> None:
    """Push the live wallboard to connected administrators about once a second."""
    while True:
        await asyncio.sleep(1.0)
        try:
            if not sio.manager.rooms.get(ADMIN_NS, {}).get("wallboard"):
                continue
            await sio.emit("stats", await engine.read.wallboard(), room="wallboard", namespace=ADMIN_NS)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stats push failed")


def attach_socketio(app: web.Application, engine_key: web.AppKey) -> socketio.AsyncServer:
    """Create the Socket.IO server on `app`; the engine is bound at start-up."""
    # Default CORS policy: same origin only (the pages are served by this server).
    # 256 KB per message: an offer is at most 64 KB; documents go over HTTP.
    sio = GuardedServer(async_mode="aiohttp", logger=False, engineio_logger=False, max_http_buffer_size=256_000)
    sio.attach(app, socketio_path="socket.io")

    async def bind(app: web.Application) -> None:
        engine = app[engine_key]
        sio.register_namespace(CallerNamespace(CALLER_NS, engine))
        sio.register_namespace(AgentNamespace(AGENT_NS, engine))
        sio.register_namespace(AdminNamespace(ADMIN_NS, engine))
        app[STATS_TASK] = asyncio.create_task(_stats_loop(sio, engine))

    async def unbind(app: web.Application) -> None:
        task = app.get(STATS_TASK)
        if task:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    app.on_startup.append(bind)
    app.on_shutdown.append(unbind)
    return sio
