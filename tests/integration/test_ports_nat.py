"""Firewalls and NAT: the legs' host sockets in VW_UDP_PORTS, and VW_ANNOUNCED_ADDRESSES in the answers.

The announced address is a TEST-NET one (203.0.113.7): the test reads it in
the answer and plays the 1:1 NAT itself (the answer is applied with the
address mapped back to 127.0.0.1), so nothing is ever sent to it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from live_server import caller
from signaling.media.ice import AnnouncedAddresses, rtc_configuration

PUBLIC = "203.0.113.7"
CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ (\w+)", re.M)


def port_range(size: int) -> tuple[int, int]:
    """`size` ports below Linux's ephemeral range (so no OS-chosen socket takes them meanwhile)."""
    low = random.randrange(20000, 30000 - size)
    return low, low + size - 1


async def offer(participant) -> tuple[RTCPeerConnection, dict]:
    """A test peer's offer (audio + video) sent as `rtc:offer`; the ack as it came."""
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTransceiver("audio")
    pc.addTransceiver("video")
    await pc.setLocalDescription(await pc.createOffer())
    ack = await participant.emit_raw(participant.namespace, "rtc:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
    return pc, ack


def answer_ports(sdp: str) -> list[int]:
    """The ports of the answer's candidates (each bundled m-line repeats the same ones)."""
    return sorted({int(port) for _, port, _ in CANDIDATE.findall(sdp)})


async def wait_connected(pc: RTCPeerConnection, timeout: float = 10) -> None:
    async def connected() -> None:
        while pc.connectionState != "connected":
            assert pc.connectionState not in ("failed", "closed"), pc.connectionState
            await asyncio.sleep(0.05)

    await asyncio.wait_for(connected(), timeout)


LOW, HIGH = port_range(10)


@pytest.mark.parametrize("server", [{
    "udp_ports": (LOW, HIGH),
    "announced_addresses": AnnouncedAddresses.parse([f"127.0.0.1={PUBLIC}"]),
}], indirect=True)
async def test_answer_announces_the_public_address_on_a_port_of_the_range(server):
    c = await caller(server)
    pc, ack = await offer(c)
    try:
        assert ack["ok"], ack
        answer = ack["sdp"]
        candidates = CANDIDATE.findall(answer)
        assert candidates, answer
        for host, port, kind in candidates:
            assert kind == "host" and host == PUBLIC, candidates  # the local address is not announced
            assert LOW <= int(port) <= HIGH, candidates
        assert f"c=IN IP4 {PUBLIC}" in answer and "127.0.0.1" not in answer

        # The 1:1 NAT: what reaches the public address is delivered to the local one, port kept.
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.replace(PUBLIC, "127.0.0.1"), type="answer"))
        await wait_connected(pc)
        assert server.engine.media.ports.in_use() == 1  # one bundled socket on one media address

        # A renegotiation (a screen share) keeps the same socket, still announced.
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        ack = await c.emit_raw(c.namespace, "rtc:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        assert ack["ok"], ack
        assert {(host, port) for host, port, _ in CANDIDATE.findall(ack["sdp"])} == {
            (host, port) for host, port, _ in candidates}
        assert server.engine.media.ports.in_use() == 1
    finally:
        await pc.close()
        await c.close()


LOW3, HIGH3 = port_range(3)


@pytest.mark.parametrize("server", [{"udp_ports": (LOW3, HIGH3)}], indirect=True)
async def test_a_range_in_use_refuses_legs_with_no_ports_until_one_closes(server, caplog):
    caplog.set_level(logging.WARNING, logger="signaling.media.ports")
    held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    held.bind(("127.0.0.1", LOW3 + 1))  # something else holds a port of the range
    callers = [await caller(server) for _ in range(4)]
    pcs = []
    try:
        ports = []
        for c in callers[:2]:
            pc, ack = await offer(c)
            pcs.append(pc)
            assert ack["ok"], ack
            ports += answer_ports(ack["sdp"])
        assert ports == [LOW3, HIGH3]  # the held port was skipped

        for c in callers[2:]:
            pc, ack = await offer(c)
            pcs.append(pc)
            assert ack == {"ok": False, "error": {"code": "no_ports", "message": ack["error"]["message"]}}
            assert f"{LOW3}-{HIGH3}" in ack["error"]["message"]
        exhausted = [r for r in caplog.records if "exhausted" in r.getMessage()]
        assert len(exhausted) == 1, exhausted  # said once, not once per refused leg

        await callers[0].close()  # its leg closes: its port is free again
        for _ in range(100):
            if server.engine.media.ports.in_use() == 1:
                break
            await asyncio.sleep(0.05)
        pc, ack = await offer(callers[2])  # the refused caller tries again
        pcs.append(pc)
        assert ack["ok"], ack
        assert answer_ports(ack["sdp"]) == [LOW3]
    finally:
        held.close()
        for pc in pcs:
            await pc.close()
        for c in callers:
            await c.close()
