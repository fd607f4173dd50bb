"""Several people in one call through the real server, the media side (issue 13): who receives whom.

Real aiortc peers on 127.0.0.1, each sending a bar tinted its own colour and a tone at its own pitch
and decoding what it receives per mid (signaling/client.py, Reception). Checked on the mids
`call:participants` gives each receiver: a conference of three where each party decodes both others'
pictures; a consult where the caller gets nothing from either specialist, then joins; whisper (the
specialist hears the supervisor, the caller does not) switched live to barge (both hear and see it).
No frame is decoded on the server. (The signalling flows are in test_conference_calls.py.)
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from live_server import caller, specialist
from signaling.client import Administrator

SI = "SI-001"  # zhang.wei and chen.jing both have its category
# Who sends what: the front desk, the back office, the caller, the supervisor.
LOOKS = {"front": ("red", 800.0), "back": ("blue", 1200.0), "caller": ("green", 400.0), "sup": ("yellow", 1600.0)}


async def until(predicate, timeout=15.0, step=0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)


def dress(party, who: str):
    party.colour, party.pitch = LOOKS[who]
    return party


def decodes(party, entry: dict, who: str, kinds=("video", "audio")) -> bool:
    """`party` decodes `who`'s colour and pitch on the mids of its call:participants `entry`."""
    colour, pitch = LOOKS[who]
    seen = party.reception.by_mid
    ok = True
    if "video" in kinds:
        v = seen.get(entry.get("video_mid"), {})
        ok = ok and v.get("frames", 0) >= 5 and v.get("colour") == colour
    if "audio" in kinds:
        a = seen.get(entry.get("audio_mid"), {})
        ok = ok and a.get("frames", 0) >= 5 and a.get("pitch") == pitch
    return ok


class Told:
    """The last call:participants each party was sent (events are kept by the client in order)."""

    def __init__(self, **parties) -> None:
        self.parties = parties
        self.last: dict[str, dict] = {}

    def update(self) -> None:
        for name, party in self.parties.items():
            queue = party._events.get("call:participants", [])
            if queue:
                self.last[name] = queue[-1]

    def entry(self, receiver: str, role_or_name: str) -> dict | None:
        self.update()
        for p in (self.last.get(receiver) or {}).get("participants", []):
            if p["id"].startswith(role_or_name) or p.get("display_name") == role_or_name:
                return p
        return None

    def sees(self, receiver: str, sender_id: str, who: str, kinds=("video", "audio")) -> bool:
        entry = self.entry(receiver, sender_id)
        return entry is not None and decodes(self.parties[receiver], entry, who, kinds)


async def answered(server):
    front = dress(await specialist(server, "zhang.wei", auto_answer=True), "front")
    back = dress(await specialist(server, "chen.jing", ready=False), "back")
    c = dress(await caller(server), "caller")
    for party in (front, back, c):
        await party.open_leg()
    call_id = (await c.request(SI, "Ms Li", company="Acme"))["call_id"]
    await front.wait_for("call:connected", predicate=lambda e: e["call_id"] == call_id)
    assert (await back.set_state("ready"))["ok"]
    return front, back, c, call_id


async def invite(front, back, call_id: str, mode: str) -> None:
    assert (await front._call("call:invite", {"call_id": call_id, "specialist": "chen.jing", "mode": mode}))["ok"]
    await back.wait_for("call:offered", predicate=lambda e: "invite" in e)
    assert (await back.accept(call_id))["ok"]


def no_decoding(server) -> None:
    media = server.engine.media
    for leg in media._legs.values():
        for tap in leg.inputs().values():
            assert tap.decoded == 0 and tap.splitter.decoded == 0


async def frames_on(party, mids) -> int:
    return sum(party.reception.by_mid.get(m, {}).get("frames", 0) for m in mids)


async def test_a_conference_of_three_each_decodes_both_others(server):
    front, back, c, call_id = await answered(server)
    told = Told(front=front, back=back, caller=c)
    try:
        await invite(front, back, call_id, "conference")
        ids = {"front": "specialist:", "back": "specialist:", "caller": "caller"}
        names = {"front": "张伟", "back": "陈静"}

        def everyone() -> bool:
            return (told.sees("caller", names["front"], "front") and told.sees("caller", names["back"], "back")
                    and told.sees("front", ids["caller"], "caller") and told.sees("front", names["back"], "back")
                    and told.sees("back", ids["caller"], "caller") and told.sees("back", names["front"], "front"))

        await until(everyone, timeout=20)
        # Each sender on its own mid of each receiver.
        for receiver in ("caller", "front", "back"):
            mids = [p["video_mid"] for p in told.last[receiver]["participants"]]
            assert len(mids) == 2 and len(set(mids)) == 2
        no_decoding(server)
        assert (await front.hangup(call_id))["ok"]
    finally:
        for party in (front, back, c):
            await party.close()


@pytest.mark.parametrize("server", [{"quality_interval_s": 1}], indirect=True)
async def test_the_invited_specialists_link_is_measured_and_logged(server):
    front, back, c, call_id = await answered(server)
    told = Told(front=front, back=back, caller=c)
    try:
        await invite(front, back, call_id, "conference")
        await until(lambda: told.sees("back", "caller", "caller"), timeout=20)
        watched = server.engine.quality.calls

        def back_office_sampled() -> bool:
            call = watched.get(call_id)
            return call is not None and "back_office" in call.parties and len(call.parties["back_office"].samples) >= 2

        await until(back_office_sampled, timeout=15)
        # Its figures are logged, not sent: the pages show the caller's and the owner's links.
        assert all(m["party"] in ("caller", "specialist") for m in back._events.get("call:quality", []))
        assert (await front.hangup(call_id))["ok"]
        await c.wait_for("call:ended")
        token = await server.token("admin", "admin123")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.get(f"{server.url}/api/sessions/{call_id}") as resp:
                row = await resp.json()
            async with http.get(f"{server.url}/api/sessions/{call_id}/quality") as resp:
                samples = (await resp.json())["samples"]
        summary = row["quality"]["back_office"]
        assert summary["samples"] >= 2 and summary["kbps_in"]["mean"] > 20, summary
        assert row["quality"]["caller"]["samples"] >= 2 and row["quality"]["specialist"]["samples"] >= 2
        assert [s["party"] for s in samples].count("back_office") == summary["samples"]
    finally:
        for party in (front, back, c):
            await party.close()


async def test_a_consult_holds_the_caller_then_it_joins(server):
    front, back, c, call_id = await answered(server)
    told = Told(front=front, back=back, caller=c)
    try:
        # Two-party, bridged: the front desk on the caller's own video m-line.
        await until(lambda: c.reception.by_mid.get("1", {}).get("colour") == "red")
        await invite(front, back, call_id, "consult")
        await c.wait_for("call:held", predicate=lambda e: e["held"] is True)
        await until(lambda: told.sees("front", "陈静", "back") and told.sees("back", "张伟", "front"))
        told.update()
        assert told.last["caller"]["participants"] == []
        # While on hold, nothing reaches the caller on any of its m-lines.
        await asyncio.sleep(0.5)
        before = c.reception.frames()
        await asyncio.sleep(1.5)
        assert c.reception.frames() == before
        # Nor do the specialists receive the caller.
        assert told.entry("front", "caller") is None and told.entry("back", "caller") is None

        assert (await front._call("call:conference", {"call_id": call_id}))["ok"]
        await c.wait_for("call:held", predicate=lambda e: e["held"] is False)
        await until(lambda: told.sees("caller", "张伟", "front") and told.sees("caller", "陈静", "back")
                    and told.sees("back", "caller", "caller") and told.sees("front", "caller", "caller"), timeout=20)
        no_decoding(server)
        assert (await front.hangup(call_id))["ok"]
    finally:
        for party in (front, back, c):
            await party.close()


async def test_whisper_reaches_the_specialist_only_then_barge_reaches_both(server):
    front = dress(await specialist(server, "zhang.wei", auto_answer=True), "front")
    c = dress(await caller(server), "caller")
    sup = dress(Administrator(server.url, username="admin", password="admin123", media_addresses=["127.0.0.1"]), "sup")
    told = Told(front=front, caller=c)
    try:
        for party in (front, c):
            await party.open_leg()
        call_id = (await c.request(SI, "Ms Li", company="Acme"))["call_id"]
        await front.wait_for("call:connected", predicate=lambda e: e["call_id"] == call_id)
        await sup.connect()
        await sup.open_monitor_leg(speak=True)
        assert (await sup.monitor_start(call_id, "whisper"))["ok"]
        await until(lambda: told.sees("front", "supervisor:", "sup", kinds=("audio",))
                    and told.sees("caller", "张伟", "front"), timeout=20)
        assert "video_mid" not in told.entry("front", "supervisor:")  # heard, not seen
        assert told.entry("caller", "supervisor:") is None
        pitches = {seen["pitch"] for seen in c.reception.by_mid.values() if seen["kind"] == "audio"}
        assert LOOKS["sup"][1] not in pitches  # the caller hears no supervisor
        assert sup.slots[0]["frames"] > 0 and sup.slots[2]["frames"] > 0  # the supervisor hears both

        assert (await sup.monitor_start(call_id, "barge"))["ok"]  # switched in the live call
        # All three together: the switch tells each receiver its mids anew, and what it decodes on them follows.
        await until(lambda: told.sees("caller", "supervisor:", "sup") and told.sees("front", "supervisor:", "sup")
                    and told.sees("caller", "张伟", "front"), timeout=20)
        no_decoding(server)
        assert (await front.hangup(call_id))["ok"]
    finally:
        for party in (front, c, sup):
            await party.close()
