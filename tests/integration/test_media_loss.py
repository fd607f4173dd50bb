"""Media loss is noticed within seconds and told to both parties; a dropped console at once."""

from __future__ import annotations

import asyncio
import time

from aiortc.rtp import is_rtcp
from test_calls import SI, caller, specialist


def _mute_sending(client, muted: bool) -> None:
    """The harness's network cut: the client's senders stop putting RTP on the wire (RTCP and the
    ICE consent go on, as when a NAT binding or a firewall drops only the media)."""
    for sender in client.pc.getSenders():
        sender._enabled = not muted


async def test_a_party_whose_media_stops_is_lost_then_restored(server):
    spec = await specialist(server, auto_answer=True)
    c = await caller(server)
    try:
        ack = await c.request(SI, "断网")
        await c.wait_for("call:connected")
        await c.wait_media(5, 5)
        await spec.wait_media(5, 5)
        _mute_sending(c, True)
        cut = time.monotonic()
        lost = await spec.wait_for("call:media", timeout=10)
        assert time.monotonic() - cut < 6  # a 3 s stall, noticed on the next tick
        assert lost == {"call_id": ack["call_id"], "party": "caller", "state": "lost", "reason": "no_media"}
        assert (await c.wait_for("call:media"))["state"] == "lost"  # the caller is told too
        _mute_sending(c, False)
        restored = await spec.wait_for("call:media", timeout=10)
        assert (restored["party"], restored["state"]) == ("caller", "restored")
        assert ack["call_id"] in server.engine.sessions.live  # the call goes on
        await c.hangup()
        row = await server.store.get_session(ack["call_id"])
        types = [e["type"] for e in row["events"]]
        assert "media_lost" in types and "media_restored" in types and row["outcome"] == "answered"
    finally:
        await c.close()
        await spec.close()


async def test_a_call_whose_media_never_returns_ends_after_the_grace(server):
    server.engine.settings.media_grace_s = 2
    spec = await specialist(server, auto_answer=True)
    c = await caller(server)
    try:
        ack = await c.request(SI, "断网不回")
        await c.wait_media(5, 5)
        _mute_sending(c, True)
        ended = await spec.wait_for("call:ended", timeout=15)
        assert (ended["call_id"], ended["reason"]) == (ack["call_id"], "media_failed")
    finally:
        await c.close()
        await spec.close()


async def test_the_caller_is_told_at_once_when_the_console_drops(server):
    spec = await specialist(server, auto_answer=True)
    c = await caller(server)
    try:
        ack = await c.request(SI, "控制台掉线")
        await c.wait_media(5, 5)
        await spec.close()
        media = await c.wait_for("call:media", timeout=3)
        assert media == {"call_id": ack["call_id"], "party": "specialist", "state": "lost",
                         "reason": "specialist_disconnected"}
    finally:
        await c.close()


async def test_a_video_packet_lost_for_good_upstream_costs_a_moment_not_the_picture(server):
    spec = await specialist(server, auto_answer=True)
    c = await caller(server)
    try:
        await c.request(SI, "丢包")
        await c.wait_media(5, 5)
        await spec.wait_media(5, 5)
        sender = next(s for s in c.pc.getSenders() if s.track is not None and s.track.kind == "video")

        async def cannot_repair(sequence_number: int) -> None:
            return None

        sender._retransmit = cannot_repair  # the caller answers no NACK: the packet is lost for good
        transport, dropped = sender.transport, []
        original = transport._send_rtp

        async def drop_one(data: bytes) -> None:
            if not dropped and not is_rtcp(data) and int.from_bytes(data[8:12], "big") == sender._ssrc:
                dropped.append(time.monotonic())
                return
            await original(data)

        transport._send_rtp = drop_one
        while not dropped:
            await asyncio.sleep(0.02)
        before = spec.received["video"]
        # aiortc's own buffer would pass nothing on until 512 more packets (about 17 s of this video)
        await spec.wait_media(before + 30, 0, timeout=6)
        part = next(p for p in server.engine.presence.participants.values() if p.role == "caller")
        buffer = part.leg.inputs()[("video", 0)].receiver._RTCRtpReceiver__jitter_buffer
        assert buffer.skipped == 1
    finally:
        await c.close()
        await spec.close()
