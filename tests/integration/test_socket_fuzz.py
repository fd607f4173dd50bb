"""Malformed socket.io packets, reserved names, huge and deep payloads, straight onto the websocket:
every one answered in the contract's shape (when it carries an ack id), and the server stays responsive."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest


async def _open(server, http: aiohttp.ClientSession, namespace: str = "/caller"):
    ws = await http.ws_connect(f"{server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str()
    assert opened.startswith("0")
    await ws.send_str(f"40{namespace},{{}}")
    connected = await ws.receive_str()
    assert connected.startswith(f"40{namespace},"), connected
    return ws


async def _ack(ws, ack_id: int) -> list:
    """The ack packet for `ack_id` (engine.io pings are answered on the way)."""
    while True:
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        if message.data == "2":
            await ws.send_str("3")
            continue
        head = f"43/caller,{ack_id}"
        if message.data.startswith(head):
            return json.loads(message.data[len(head):])


async def _healthz_ms(server, http) -> float:
    started = time.monotonic()
    async with http.get(f"{server.url}/healthz") as response:
        assert response.status == 200
    return (time.monotonic() - started) * 1000


@pytest.mark.parametrize("body, code", [
    pytest.param('[{"an": "object"}, {}]', "unknown_event", id="name-not-a-string"),
    pytest.param('["connect", {}]', "unknown_event", id="reserved-connect"),
    pytest.param('["disconnect", {}]', "unknown_event", id="reserved-disconnect"),
    pytest.param("[]", "unknown_event", id="no-name"),
    pytest.param('["call:request", {"service_item": "SI-001", "name": ' + "9" * 4000 + "}]", "bad_packet",
                 id="4000-digit-integer"),
    pytest.param('["call:request", ' + "[" * 1000 + "]" * 1000 + "]", "bad_packet", id="nesting-1000"),
    pytest.param('["call:request", {"service_item": ', "bad_packet", id="not-json"),
    pytest.param('["call:request", ' + "[" * 100_000 + "]", "bad_packet", id="nesting-100000"),
    pytest.param('["chat:message", {"call_id": "x", "text": "' + "x" * 200_000 + '"}]', "too_long", id="200-kb-text"),
])
async def test_malformed_packets_are_answered_in_shape(server, body, code):
    async with aiohttp.ClientSession() as http:
        ws = await _open(server, http)
        try:
            await ws.send_str(f"42/caller,7{body}")
            [ack] = await _ack(ws, 7)
            assert ack["ok"] is False and ack["error"]["code"] == code, ack
            assert isinstance(ack["error"]["message"], str)
            assert await _healthz_ms(server, http) < 500  # the loop was not frozen (the bound is loose: CI is shared)
        finally:
            await ws.close()


async def test_a_flood_of_garbage_leaves_the_server_answering(server):
    async with aiohttp.ClientSession() as http:
        ws = await _open(server, http)
        try:
            for n in range(300):
                await ws.send_str(f"42/caller,{n}" + ("[" if n % 2 else '["x'))
            assert await _healthz_ms(server, http) < 500
        finally:
            await ws.close()
        ws = await _open(server, http)  # and a new client is served normally
        try:
            await ws.send_str('42/caller,1["call:request", {"service_item": "SI-001", "name": "正常"}]')
            [ack] = await _ack(ws, 1)
            assert ack["ok"] is True and ack["call_id"]
        finally:
            await ws.close()


async def test_a_message_over_the_size_limit_closes_only_that_connection(server):
    async with aiohttp.ClientSession() as http:
        ws = await _open(server, http)
        await ws.send_str('42/caller,1["chat:message", "' + "x" * 2_000_000 + '"]')
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                                aiohttp.WSMsgType.ERROR)
        assert await _healthz_ms(server, http) < 500
