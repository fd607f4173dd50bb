"""Calls through a real TURN server (coturn on 127.0.0.1, started and stopped here).

The participants take their ICE configuration from `GET /api/config`, as the
pages do: with VW_ICE_TRANSPORT_POLICY=relay they gather relay candidates
only, so every packet of theirs goes through coturn.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from live_server import caller as connected_caller
from live_server import specialist as signed_in_specialist
from live_server import start_server
from signaling.media.ice import rtc_configuration
from signaling.media.turn import TurnRest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/coturn.py
from coturn import Coturn  # noqa: E402

SI = "SI-001"
SECRET = "vw-turn-shared-secret"


@pytest.fixture
def coturn(tmp_path, request):
    turn = Coturn(tmp_path / "coturn", secret=getattr(request, "param", None))
    turn.start()
    yield turn
    turn.stop()


def local_candidate_types(participant) -> set[str]:
    gatherer = participant.pc.getTransceivers()[0].sender.transport.transport.iceGatherer
    return {c.type for c in gatherer.getLocalCandidates()}


async def relayed_call(server):
    spec = await signed_in_specialist(server, ready=False)
    await spec.open_leg()
    assert (await spec.set_state("ready", auto_answer=True))["ok"]
    c = await connected_caller(server)
    await c.open_leg()
    assert (await c.request(SI, "Relayed Caller"))["ok"]
    await c.wait_for("call:connected")
    return spec, c


async def test_a_call_with_both_parties_forced_to_relay_carries_media_both_ways(tmp_path, coturn):
    server, runner = await start_server(tmp_path, ice_servers=[coturn.ice_server], ice_transport_policy="relay")
    spec = c = None
    try:
        spec, c = await relayed_call(server)
        await c.wait_media(min_video_frames=10, min_audio_frames=10)
        await spec.wait_media(min_video_frames=10, min_audio_frames=10)
        assert local_candidate_types(c) == {"relay"} and local_candidate_types(spec) == {"relay"}
        log = coturn.log()
        assert "user <vw>: incoming packet ALLOCATE processed, success" in log, log
        assert "user <vw>: incoming packet CHANNEL_BIND processed, success" in log, log
        assert (await c.hangup())["ok"]
    finally:
        for p in (c, spec):
            if p is not None:
                await p.close()
        await runner.cleanup()


@pytest.mark.parametrize("coturn", [SECRET], indirect=True)
async def test_short_term_credentials_connect_until_they_expire(tmp_path, coturn):
    ttl = 600
    server, runner = await start_server(tmp_path, turn_urls=[coturn.url], turn_secret=SECRET, turn_ttl_s=ttl,
                                        ice_transport_policy="relay")
    c = None
    try:
        c = await connected_caller(server)
        status, config = await c._request_json("GET", "/api/config")
        assert status == 200 and config["ice_transport_policy"] == "relay"
        (entry,) = config["ice_servers"]
        expiry, _, user = entry["username"].partition(":")
        assert abs(int(expiry) - (time.time() + ttl)) < 60 and user and entry["urls"] == [coturn.url]
        assert config["ice_expires_at"] == int(expiry)

        # Fresh credentials from /api/config: the caller's leg connects through coturn.
        await c.open_leg()
        await c.wait_for("rtc:state", predicate=lambda m: m.get("state") == "connected")
        assert local_candidate_types(c) == {"relay"}

        # Credentials made with the same secret but already expired: coturn refuses the allocation.
        expired = TurnRest((coturn.url,), SECRET, ttl).server(now=time.time() - 2 * ttl)
        pc = RTCPeerConnection(rtc_configuration([expired], "relay"))
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        assert "a=candidate" not in pc.localDescription.sdp  # no relay candidate: nothing to connect with
        await pc.close()
        log = coturn.log()
        assert re.search(r"user <\d+:vw[0-9a-f]{8}>: incoming packet ALLOCATE processed, success", log), log
        assert f"user <{expired['username']}>: incoming packet message processed, error 401" in log, log
    finally:
        if c is not None:
            await c.close()
        await runner.cleanup()
