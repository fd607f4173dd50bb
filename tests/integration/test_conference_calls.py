"""Several people in one call through the real server (issue 13), the session side: invitations
(accept, decline, timeout, by service item), the participants told with their mids, leave, and the
warm hand-over — after which the caller sees the second specialist and the sessions are linked.
Real aiortc peers; pictures told apart by colour. (The media assertions of a conference of three,
a consult, whisper and barge are in test_conference_media.py.)"""

from __future__ import annotations

import asyncio

import pytest

from live_server import caller, specialist

SI = "SI-001"  # social insurance: zhang.wei and chen.jing both have its category


async def until(predicate, timeout=10.0, step=0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)


def video_colours(party) -> dict[str, str | None]:
    """The colour of the last picture on each video mid the party decodes."""
    return {mid: seen["colour"] for mid, seen in party.reception.by_mid.items() if seen["kind"] == "video"}


async def answered_call(server, *, legs: bool = True):
    """zhang.wei (red) answers a caller (green); chen.jing (blue) is signed in, not yet ready."""
    front = await specialist(server, "zhang.wei", auto_answer=True)
    back = await specialist(server, "chen.jing", ready=False)
    c = await caller(server)
    for party, colour in ((front, "red"), (back, "blue"), (c, "green")):
        party.colour = colour
        if legs:
            await party.open_leg()
    ack = await c.request(SI, "Ms Li", company="Acme")
    call_id = ack["call_id"]
    await front.wait_for("call:connected", predicate=lambda e: e["call_id"] == call_id)
    assert (await back.set_state("ready"))["ok"]
    return front, back, c, call_id


async def close_all(*parties) -> None:
    for party in parties:
        await party.close()


async def test_hand_over_leaves_the_caller_with_the_second_specialist_in_a_linked_session(server):
    front, back, c, call_id = await answered_call(server)
    try:
        await until(lambda: "red" in video_colours(c).values())  # the caller sees the front desk
        ack = await front._call("call:invite", {"call_id": call_id, "specialist": "chen.jing", "mode": "consult",
                                                "note": "approval needed"})
        assert ack["ok"], ack
        offer = await back.wait_for("call:offered", predicate=lambda e: "invite" in e)
        assert offer["invite"]["note"] == "approval needed" and offer["invite"]["from"] == {"display_name": "张伟"}
        assert (await back.accept(call_id))["ok"]
        held = await c.wait_for("call:held")
        assert held == {"call_id": call_id, "held": True, "reason": "consult"}

        handed = await front._call("call:handover", {"call_id": call_id})
        assert handed["ok"], handed
        new_id = handed["new_call_id"]
        transferred = await c.wait_for("call:transferred")
        assert transferred["new_call_id"] == new_id and transferred["handover"] is True
        assert (await c.wait_for("call:connected", predicate=lambda e: e["call_id"] == new_id))["specialist"] == {
            "display_name": "陈静"}
        ended = await front.wait_for("call:ended", predicate=lambda e: e["call_id"] == call_id)
        assert ended["reason"] == "transferred"
        # The caller's own m-lines now carry the back office's picture.
        await until(lambda: "blue" in video_colours(c).values(), timeout=15)

        old = await server.store.get_session(call_id)
        new = await server.store.get_session(new_id)
        assert old["outcome"] == "transferred" and new["transferred_from"] == call_id
        assert new["status"] == "connected" and new["specialist"]["username"] == "chen.jing"
        assert "handed_over" in [e["type"] for e in old["events"]]
        assert [(p["role"], p["mode"]) for p in old["participants"]] == [
            ("caller", None), ("front_desk", None), ("back_office", "consult")]
        assert all(p["left_at"] for p in old["participants"])
        assert [(p["role"], p["mode"]) for p in new["participants"]] == [("caller", None), ("back_office", "handover")]
        assert (await front.wrapup(call_id, notes="handed over"))["ok"]
        assert (await c.hangup(new_id))["ok"]
        assert (await back.wait_for("call:ended", predicate=lambda e: e["call_id"] == new_id))["reason"] == "hangup"
    finally:
        await close_all(front, back, c)


async def test_a_conference_tells_everyone_who_is_on_which_mid_and_a_leave_lets_the_call_go_on(server):
    front, back, c, call_id = await answered_call(server)
    try:
        ack = await front._call("call:invite", {"call_id": call_id, "service_item": SI, "mode": "conference"})
        assert ack["ok"] and ack["specialist"] == {"display_name": "陈静"}, ack
        await back.wait_for("call:offered", predicate=lambda e: "invite" in e)
        assert (await back.accept(call_id))["ok"]
        connected = await back.wait_for("call:connected", predicate=lambda e: e["call_id"] == call_id)
        assert connected["role"] == "back_office"

        def full(e):
            return e["mode"] == "conference" and len(e["participants"]) == 2 and all(
                p.get("video_mid") for p in e["participants"])

        told = await front.wait_for("call:participants", predicate=full, timeout=15)
        assert sorted(p["role"] for p in told["participants"]) == ["caller", "specialist"]
        for_caller = await c.wait_for("call:participants", predicate=full, timeout=15)
        assert {p["display_name"] for p in for_caller["participants"]} == {"张伟", "陈静"}
        # Each mid the caller was told of carries that specialist's picture.
        colour_of = {"张伟": "red", "陈静": "blue"}
        for p in for_caller["participants"]:
            await until(lambda p=p: video_colours(c).get(p["video_mid"]) == colour_of[p["display_name"]], timeout=15)

        assert (await back._call("call:leave", {"call_id": call_id}))["ok"]
        assert (await back.wait_for("call:ended", predicate=lambda e: e["call_id"] == call_id))["invited"] is True
        alone = await c.wait_for("call:participants", predicate=lambda e: len(e["participants"]) == 1)
        assert alone["participants"][0]["display_name"] == "张伟" and alone["mode"] is None
        assert (await back.wait_for("agent:state", predicate=lambda e: e["state"] == "ready"))
        assert (await c.hangup(call_id))["ok"]
        await front.wait_for("call:ended")
        session = await server.store.get_session(call_id)
        assert [(p["role"], p["mode"]) for p in session["participants"]] == [
            ("caller", None), ("front_desk", None), ("back_office", "conference")]
    finally:
        await close_all(front, back, c)


@pytest.mark.parametrize("server", [{"invite_timeout_s": 1.0}], indirect=True)
async def test_decline_timeout_and_wrong_moves_over_the_wire(server):
    front, back, c, call_id = await answered_call(server, legs=False)
    try:
        invite = await front._call("call:invite", {"call_id": call_id, "specialist": "chen.jing", "mode": "consult"})
        await back.wait_for("call:offered", predicate=lambda e: "invite" in e)
        assert (await back.decline(call_id))["ok"]
        assert (await front.wait_for("call:invite_ended"))["reason"] == "declined"
        again = await front._call("call:invite", {"call_id": call_id, "specialist": "chen.jing", "mode": "consult"})
        assert again["ok"] and again["invite_id"] != invite["invite_id"]
        assert (await front.wait_for("call:invite_ended", timeout=5))["reason"] == "timeout"
        assert (await back.wait_for("call:offer_ended"))["reason"] == "timeout"

        async def refused(party, event, payload):
            ack = await party._call(event, payload)
            assert not ack["ok"], ack
            return ack["error"]["code"]

        assert await refused(front, "call:invite", {"call_id": call_id, "mode": "consult"}) == "missing_field"
        assert await refused(front, "call:invite", {"call_id": call_id, "specialist": "x", "service_item": SI,
                                                     "mode": "consult"}) == "missing_field"
        assert await refused(front, "call:invite", {"call_id": call_id, "specialist": "chen.jing",
                                                     "mode": "chat"}) == "invalid_value"
        assert await refused(front, "call:invite", {"call_id": call_id, "specialist": "li.na",
                                                     "mode": "consult"}) == "no_such_specialist"
        assert await refused(back, "call:invite", {"call_id": call_id, "specialist": "zhang.wei",
                                                    "mode": "consult"}) == "not_your_call"
        assert await refused(front, "call:handover", {"call_id": call_id}) == "nobody_invited"
        assert await refused(front, "call:conference", {"call_id": call_id}) == "not_consulting"
        assert await refused(front, "call:leave", {"call_id": call_id}) == "not_invited"
        assert await refused(front, "call:invite_cancel", {"call_id": call_id}) == "not_inviting"
        assert (await c.hangup(call_id))["ok"]
        metrics = await server.store.metrics(since=None, until=None, threshold_s=2.0)
        assert metrics["several"]["invites"] == 2
        assert (metrics["several"]["declined"], metrics["several"]["timed_out"]) == (1, 1)
    finally:
        await close_all(front, back, c)
