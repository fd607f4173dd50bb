"""Several people in one call (issue 13), the session side: invitations, consult, conference,
return, leave, hand-over, ownership and the supervisor's modes — the engine against the fakes of
test_engine.py (an in-memory log, a fake media plane with a fake several-party call, a clock)."""

from __future__ import annotations

import pytest
from test_engine import World, world  # noqa: F401  (the fixture)

from signaling.auth import Identity
from signaling.engine import Conflict, NotFound
from signaling.engine.errors import BadInput, Forbidden
from signaling.routing import RoutingError


class FakeLeg:
    """A leg that is up and keeps receiving."""

    def __init__(self, sends: bool = True) -> None:
        self.closed, self.state, self.frames = False, "connected", 0
        self.received_tracks = {"audio": ["mic"] if sends else [], "video": []}

    def frames_received(self) -> int:
        self.frames += 30
        return self.frames

    async def close(self) -> None:
        self.closed = True


def with_leg(world: World, sid: str) -> str:
    world.engine.presence.get(sid).leg = FakeLeg()
    return sid


async def connected_call(world: World) -> tuple[str, str, dict]:
    """A caller answered by specialist 1 (the owner), both with legs, media flowing."""
    owner = with_leg(world, await world.specialist(1, auto_answer=True))
    caller = with_leg(world, await world.caller(1))
    ack = await world.engine.request(caller, "SI-001", {"name": "Ms Li"})
    async with world.engine.lock:
        world.engine.sessions.bridge_if_ready(world.engine.sessions.live[ack["call_id"]])
    world.engine.sessions.media_flowing(ack["call_id"], world.engine.sessions.now())
    return owner, caller, ack


async def consulting(world: World, mode: str = "consult") -> tuple[str, str, str, str, str]:
    owner, caller, ack = await connected_call(world)
    back = with_leg(world, await world.specialist(2))
    call_id = ack["call_id"]
    invited = await world.engine.invite(owner, call_id, "s2", None, mode, "approve the account")
    await world.engine.accept(back, call_id)
    return owner, back, caller, call_id, invited["invite_id"]


async def test_an_invitation_rings_with_the_note_the_chat_and_the_documents(world):
    owner, caller, ack = await connected_call(world)
    back = with_leg(world, await world.specialist(2))
    await world.engine.chat(caller, ack["call_id"], "my licence is attached")
    invited = await world.engine.invite(owner, ack["call_id"], "s2", None, "consult", "approve the account")
    [offer] = await world.to(back, "call:offered")
    assert offer["call_id"] == ack["call_id"]
    assert offer["invite"]["invite_id"] == invited["invite_id"]
    assert offer["invite"]["mode"] == "consult" and offer["invite"]["note"] == "approve the account"
    assert offer["invite"]["from"] == {"display_name": "S1"}
    assert [m["text"] for m in offer["invite"]["messages"]] == ["my licence is attached"]
    assert offer["invite"]["documents"] == []
    assert world.engine.router.specialist_state(2) == "ringing"
    assert "invited" in world.log.events(ack["call_id"])


async def test_accepting_a_consult_holds_the_caller_and_joins_the_two_specialists(world):
    owner, back, caller, call_id, invite_id = await consulting(world)
    [connected] = await world.to(back, "call:connected")
    assert connected["role"] == "back_office" and connected["invite"]["invite_id"] == invite_id
    assert world.engine.router.specialist_state(2) == "busy"
    assert (await world.to(caller, "call:held"))[-1] == {"call_id": call_id, "held": True, "reason": "consult"}
    call = world.engine.media.calls[call_id]
    assert call.receives["caller"] == set()  # on hold: neither specialist
    assert call.receives["specialist:1"] == {"specialist:2"} and call.receives["specialist:2"] == {"specialist:1"}
    told = (await world.to(owner, "call:participants"))[-1]
    assert told["mode"] == "consult"
    assert told["participants"] == [{"id": "specialist:2", "role": "specialist", "display_name": "S2",
                                     "audio_mid": "a-specialist:2", "video_mid": "v-specialist:2"}]
    assert (await world.to(caller, "call:participants"))[-1]["participants"] == []
    accepted = next(r for r in world.log.records if r.get("event") == "invite_accepted")
    assert accepted["data"]["mode"] == "consult" and accepted["data"]["wait_ms"] == 0
    rows = [(r["role"], r["account_id"], r["mode"]) for r in world.log.participants(call_id)]
    assert rows == [("caller", None, None), ("front_desk", 1, None), ("back_office", 2, "consult")]
    [row] = world.engine.read.live_calls()  # the wallboard's calls in progress
    assert row["mode"] == "consult" and row["back_office"] == {"id": 2, "display_name": "S2"}


async def test_the_chat_reaches_everyone_in_the_call_and_names_whose_line_it_is(world):
    owner, back, caller, call_id, _ = await consulting(world, mode="conference")
    await world.engine.chat(back, call_id, "approved")
    for sid in (owner, back, caller):
        line = (await world.to(sid, "chat:message"))[-1]
        assert line["text"] == "approved" and line["specialist"] == {"id": 2, "display_name": "S2"}


async def test_a_consult_becomes_a_conference_and_everyone_receives_everyone(world):
    owner, back, caller, call_id, _ = await consulting(world)
    assert await world.engine.conference(owner, call_id) == {"mode": "conference"}
    assert (await world.to(caller, "call:held"))[-1] == {"call_id": call_id, "held": False}
    call = world.engine.media.calls[call_id]
    assert call.receives["caller"] == {"specialist:1", "specialist:2"}
    assert call.receives["specialist:2"] == {"caller", "specialist:1"}
    told = (await world.to(caller, "call:participants"))[-1]
    assert told["mode"] == "conference" and [p["id"] for p in told["participants"]] == ["specialist:1", "specialist:2"]
    modes = [(r["mode"], r["left"]) for r in world.log.participants(call_id) if r["role"] == "back_office"]
    assert modes == [("consult", True), ("conference", False)]
    with pytest.raises(Conflict) as err:
        await world.engine.conference(owner, call_id)
    assert err.value.code == "not_consulting"


async def test_a_conference_invitation_accepted_joins_all_three_at_once(world):
    owner, back, caller, call_id, _ = await consulting(world, mode="conference")
    assert await world.to(caller, "call:held") == []
    assert world.engine.media.calls[call_id].receives["caller"] == {"specialist:1", "specialist:2"}


async def test_decline_is_told_to_the_inviter_and_the_invited_specialist_is_ready_again(world):
    owner, caller, ack = await connected_call(world)
    back = with_leg(world, await world.specialist(2))
    invited = await world.engine.invite(owner, ack["call_id"], "s2", None, "consult", None)
    await world.engine.decline(back, ack["call_id"])
    assert await world.to(owner, "call:invite_ended") == [
        {"call_id": ack["call_id"], "invite_id": invited["invite_id"], "reason": "declined"}]
    assert world.engine.router.specialist_state(2) == "ready"
    assert world.engine.sessions.live[ack["call_id"]].specialist_id == 1  # the call is untouched


async def test_an_invitation_times_out_without_counting_as_rona(world):
    owner, caller, ack = await connected_call(world)
    back = with_leg(world, await world.specialist(2))
    await world.engine.invite(owner, ack["call_id"], "s2", None, "conference", None)
    await world.tick(29)
    assert await world.to(owner, "call:invite_ended") == []
    await world.tick(2)
    assert (await world.to(owner, "call:invite_ended"))[-1]["reason"] == "timeout"
    assert (await world.to(back, "call:offer_ended"))[-1]["reason"] == "timeout"
    assert world.engine.router.specialist_state(2) == "ready"
    for _ in range(3):  # the RONA limit is 3: timed-out invitations never set anyone away
        await world.engine.invite(owner, ack["call_id"], "s2", None, "conference", None)
        await world.tick(31)
    assert world.engine.router.specialist_state(2) == "ready"


async def test_the_inviter_cancels_and_a_call_that_ends_withdraws_the_invitation(world):
    owner, caller, ack = await connected_call(world)
    back = with_leg(world, await world.specialist(2))
    await world.engine.invite(owner, ack["call_id"], "s2", None, "consult", None)
    await world.engine.invite_cancel(owner, ack["call_id"])
    assert (await world.to(back, "call:offer_ended"))[-1]["reason"] == "cancelled"
    assert (await world.to(owner, "call:invite_ended"))[-1]["reason"] == "cancelled"
    await world.engine.invite(owner, ack["call_id"], "s2", None, "consult", None)
    await world.engine.hangup(caller, ack["call_id"])
    assert [e["reason"] for e in await world.to(owner, "call:invite_ended")] == ["cancelled", "cancelled"]
    assert world.engine.router.specialist_state(2) == "ready"
    with pytest.raises(RoutingError) as err:  # nothing rings any more
        await world.engine.accept(back, ack["call_id"])
    assert err.value.code == "not_offered"


async def test_going_away_while_invited_declines(world):
    owner, caller, ack = await connected_call(world)
    back = with_leg(world, await world.specialist(2))
    await world.engine.invite(owner, ack["call_id"], "s2", None, "consult", None)
    assert await world.engine.set_state(back, "away", None) == "away"
    assert (await world.to(owner, "call:invite_ended"))[-1]["reason"] == "declined"


async def test_the_invited_specialist_leaves_and_the_call_goes_on_with_the_owner(world):
    owner, back, caller, call_id, _ = await consulting(world)
    await world.engine.leave(back, call_id)
    assert (await world.to(back, "call:ended"))[-1] == {"call_id": call_id, "reason": "left", "ended_by": "specialist",
                                                       "invited": True}
    assert world.engine.router.specialist_state(2) == "ready"  # no wrap-up for the invited one
    assert world.engine.router.specialist_state(1) == "busy"
    assert (await world.to(caller, "call:held"))[-1]["held"] is False
    call = world.engine.media.calls[call_id]  # the call object stays until the session ends
    assert call.receives == {"caller": {"specialist:1"}, "specialist:1": {"caller"}}
    assert (await world.to(owner, "call:participants"))[-1] == {
        "call_id": call_id, "mode": None,
        "participants": [{"id": "caller", "role": "caller", "display_name": "Ms Li",
                          "audio_mid": "a-caller", "video_mid": "v-caller"}]}
    back_rows = [r for r in world.log.participants(call_id) if r["role"] == "back_office"]
    assert [r["left"] for r in back_rows] == [True]
    with pytest.raises(Conflict) as err:
        await world.engine.leave(owner, call_id)
    assert err.value.code == "not_invited"
    await world.engine.hangup(caller, call_id)  # the owner still owns it: wrap-up is theirs
    assert world.engine.router.specialist_state(1) == "wrap_up"
    assert call.closed and all(r["left"] for r in world.log.participants(call_id))


async def test_return_to_the_caller_dismisses_the_invited_specialist(world):
    owner, back, caller, call_id, _ = await consulting(world)
    await world.engine.back_to_caller(owner, call_id)
    assert (await world.to(back, "call:ended"))[-1]["reason"] == "returned"
    assert world.engine.sessions.live[call_id].mode is None
    assert "returned" in world.log.events(call_id)
    with pytest.raises(Conflict) as err:
        await world.engine.back_to_caller(owner, call_id)
    assert err.value.code == "nobody_invited"


async def test_the_owner_hangs_up_and_the_call_ends_for_everyone(world):
    owner, back, caller, call_id, _ = await consulting(world, mode="conference")
    await world.engine.hangup(owner, call_id)
    ended = (await world.to(back, "call:ended"))[-1]
    assert ended["invited"] is True and ended["reason"] == "hangup"
    assert world.engine.router.specialist_state(2) == "ready"
    assert world.engine.router.specialist_state(1) == "wrap_up"
    assert (await world.to(caller, "call:ended"))[-1]["call_id"] == call_id


async def test_the_invited_specialists_hangup_is_a_leave(world):
    owner, back, caller, call_id, _ = await consulting(world, mode="conference")
    await world.engine.hangup(back, call_id)
    assert call_id in world.engine.sessions.live
    assert world.engine.router.specialist_state(2) == "ready"


async def test_hand_over_links_a_new_session_owned_by_the_invited_specialist(world):
    owner, back, caller, call_id, _ = await consulting(world)
    await world.engine.chat(caller, call_id, "hello")
    result = await world.engine.handover(owner, call_id)
    new_id = result["new_call_id"]
    old_end = world.log.last_fields(call_id)
    assert old_end["outcome"] == "transferred" and old_end["end_reason"] == "transferred"
    assert "handed_over" in world.log.events(call_id)
    [create] = [r for r in world.log.records if r["op"] == "create" and r["id"] == new_id]
    assert create["transferred_from"] == call_id and create["transfer_note"] == "approve the account"
    assert world.log.last_fields(new_id)["status"] == "connected"
    assert world.log.last_fields(new_id)["specialist_id"] == 2
    new = world.engine.sessions.live[new_id]
    assert new.specialist_id == 2 and new.answered and new.lineage == [call_id] and new.guest is None
    assert [m["text"] for m in new.messages] == ["hello"]
    assert world.engine.router.specialist_call(2) == new_id
    assert world.engine.router.specialist_state(2) == "busy"
    assert world.engine.router.specialist_state(1) == "wrap_up"
    ended = (await world.to(owner, "call:ended"))[-1]
    assert ended["call_id"] == call_id and ended["reason"] == "transferred" and "wrap_up_s" in ended
    await world.engine.wrapup(owner, call_id, notes="handed to the approver")  # the front desk's wrap-up works
    transferred = (await world.to(caller, "call:transferred"))[-1]
    assert transferred["new_call_id"] == new_id and transferred["handover"] is True
    assert transferred["specialist"] == {"display_name": "S2"}
    assert (await world.to(caller, "call:connected"))[-1]["call_id"] == new_id
    assert not [e for e in await world.to(caller, "call:ended") if e["call_id"] == call_id]
    connected = (await world.to(back, "call:connected"))[-1]
    assert connected["call_id"] == new_id and connected["handover"] is True
    assert connected["transfer"]["from_session"] == call_id
    assert world.engine.media.calls[call_id].closed  # the old call's media is closed; the new one is a bridge
    assert world.engine.sessions.live[new_id].call is None
    rows = [(r["role"], r["account_id"], r["mode"]) for r in world.log.participants(new_id)]
    assert rows == [("caller", None, None), ("back_office", 2, "handover")]
    assert all(r["left"] for r in world.log.participants(call_id))
    # The new owner owns it: the caller's hang-up puts it in wrap-up.
    await world.engine.hangup(caller, new_id)
    assert world.engine.router.specialist_state(2) == "wrap_up"


async def test_whoever_stays_last_with_the_caller_owns_the_session(world):
    owner, back, caller, call_id, _ = await consulting(world, mode="conference")
    await world.engine.specialist_disconnected(owner)
    assert world.engine.media.calls[call_id].receives == {"caller": {"specialist:2"}, "specialist:2": {"caller"}}
    await world.tick(16)  # past the reconnection grace: handed over, not ended
    new_id = world.engine.router.specialist_call(2)
    assert new_id != call_id and world.engine.sessions.live[new_id].specialist_id == 2
    assert world.log.last_fields(call_id)["ended_by"] == "system"
    assert (await world.to(caller, "call:transferred"))[-1]["new_call_id"] == new_id


async def test_an_invited_specialist_whose_console_drops_leaves_at_once(world):
    owner, back, caller, call_id, _ = await consulting(world)
    await world.engine.specialist_disconnected(back)
    assert world.engine.sessions.live[call_id].guest is None
    left = [r for r in world.log.records if r.get("event") == "participant_left"]
    assert left[-1]["data"]["reason"] == "disconnected"
    assert (await world.to(caller, "call:held"))[-1]["held"] is False


async def test_by_service_item_the_best_skilled_ready_specialist_is_invited(world):
    levels = {1: {"category:social_insurance": 3}, 2: {"SI-001": 2}, 3: {"SI-001": 5}, 4: {"SI-001": 5}}

    async def skill_levels(account_id):
        return levels.get(account_id, {})

    world.engine.store.skill_levels = skill_levels
    owner, caller, ack = await connected_call(world)
    for n in (2, 3, 4):
        world.clock.now += 1  # 3 has been idle longer than 4
        await world.specialist(n)
    invited = await world.engine.invite(owner, ack["call_id"], None, "SI-001", "consult", None)
    assert invited["specialist"] == {"display_name": "S3"}
    assert (await world.to("spec3", "call:offered"))[-1]["invite"]["invite_id"] == invited["invite_id"]
    event = next(r for r in world.log.records if r.get("event") == "invited")
    assert event["data"]["by"] == "service_item" and event["data"]["specialist_id"] == 3


async def test_wrong_moves_have_codes(world):
    owner, caller, ack = await connected_call(world)
    call_id = ack["call_id"]
    back = with_leg(world, await world.specialist(2))
    await world.specialist(3, ready=False)

    async def code(coro) -> str:
        with pytest.raises((Conflict, NotFound, Forbidden, BadInput)) as err:
            await coro
        return err.value.code

    assert await code(world.engine.invite(owner, "nope", "s2", None, "consult", None)) == "unknown_call"
    assert await code(world.engine.invite(owner, call_id, "s2", None, "chat", None)) == "invalid_value"
    assert await code(world.engine.invite(owner, call_id, "nobody", None, "consult", None)) == "no_such_specialist"
    assert await code(world.engine.invite(owner, call_id, "s1", None, "consult", None)) == "cannot_invite_self"
    assert await code(world.engine.invite(owner, call_id, "s3", None, "consult", None)) == "specialist_unavailable"
    assert await code(world.engine.invite(back, call_id, "s3", None, "consult", None)) == "not_your_call"
    assert await code(world.engine.invite_cancel(owner, call_id)) == "not_inviting"
    assert await code(world.engine.handover(owner, call_id)) == "nobody_invited"
    await world.engine.set_state(back, "away", None)
    assert await code(world.engine.invite(owner, call_id, None, "SI-001", "consult", None)) == "nobody_with_skill"
    await world.engine.set_state(back, "ready", None)
    await world.engine.invite(owner, call_id, "s2", None, "consult", None)
    assert await code(world.engine.invite(owner, call_id, "s2", None, "consult", None)) == "already_inviting"
    await world.engine.accept(back, call_id)
    await world.specialist(4)
    assert await code(world.engine.invite(owner, call_id, "s4", None, "consult", None)) == "call_full"
    assert await code(world.engine.invite(back, call_id, "s4", None, "consult", None)) == "not_owner"
    assert await code(world.engine.handover(back, call_id)) == "not_owner"
    assert await code(world.engine.conference(back, call_id)) == "not_owner"
    assert await code(world.engine.hold(back, call_id, True)) == "forbidden"


async def admin(world: World, n: int = 50) -> str:
    sid = f"admin{n}"
    await world.engine.admin_connected(sid, Identity(account_id=n, username=f"boss{n}", role="admin"))
    world.engine.presence.get(sid).leg = FakeLeg()
    return sid


async def test_supervisor_modes_switch_live_and_the_parties_are_told(world):
    owner, back, caller, call_id, _ = await consulting(world, mode="conference")
    sup = await admin(world)
    assert (await world.engine.monitor_start(sup, call_id))["mode"] == "listen"
    call = world.engine.media.calls[call_id]
    assert call.receives["supervisor:50"] == {"caller", "specialist:1", "specialist:2"}
    assert "supervisor:50" not in call.receives["caller"] | call.receives["specialist:1"]
    assert await world.to(owner, "call:supervisor") == []

    await world.engine.monitor_start(sup, call_id, "whisper")
    assert "supervisor:50" in call.receives["specialist:1"] and "supervisor:50" in call.receives["specialist:2"]
    assert "supervisor:50" not in call.receives["caller"] and call.audio_only == {"supervisor:50"}
    whisper = {"call_id": call_id, "mode": "whisper", "supervisor": {"display_name": "boss50"}}
    assert await world.to(owner, "call:supervisor") == [whisper]
    assert await world.to(back, "call:supervisor") == [whisper]
    assert await world.to(caller, "call:supervisor") == []
    assert "supervisor:50" not in [p["id"] for p in (await world.to(caller, "call:participants"))[-1]["participants"]]

    await world.engine.monitor_start(sup, call_id, "barge")
    assert "supervisor:50" in call.receives["caller"] and call.audio_only == frozenset()
    assert (await world.to(caller, "call:supervisor"))[-1]["mode"] == "barge"
    assert (await world.to(owner, "call:supervisor"))[-1]["mode"] == "barge"

    await world.engine.monitor_stop(sup, call_id)
    assert (await world.to(caller, "call:supervisor"))[-1]["mode"] is None
    assert (await world.to(owner, "call:supervisor"))[-1]["mode"] is None
    assert "supervisor:50" not in call.receives
    events = [r for r in world.log.records if r.get("event") in ("monitor_started", "monitor_mode", "monitor_stopped")]
    assert [(r["event"], (r["data"] or {}).get("mode")) for r in events] == [
        ("monitor_started", "listen"), ("monitor_mode", "whisper"), ("monitor_mode", "barge"), ("monitor_stopped", None)]
    rows = [(r["mode"], r["left"]) for r in world.log.participants(call_id) if r["role"] == "supervisor"]
    assert rows == [("listen", True), ("whisper", True), ("barge", True)]


async def test_whisper_into_a_plain_call_makes_it_a_several_party_call(world):
    owner, caller, ack = await connected_call(world)
    sup = await admin(world)
    await world.engine.monitor_start(sup, ack["call_id"])
    assert ack["call_id"] not in world.engine.media.calls  # listen on a plain call: today's monitor
    assert list(world.engine.media.monitored.values()) == [ack["call_id"]]
    await world.engine.monitor_start(sup, ack["call_id"], "whisper")
    call = world.engine.media.calls[ack["call_id"]]
    assert call.receives["specialist:1"] == {"caller", "supervisor:50"}
    assert call.receives["caller"] == {"specialist:1"}
    with pytest.raises(BadInput):
        await world.engine.monitor_start(sup, ack["call_id"], "shout")
    world.engine.presence.get(sup).leg = FakeLeg(sends=False)  # a receive-only leg cannot be heard
    with pytest.raises(Conflict) as err:
        await world.engine.monitor_start(sup, ack["call_id"], "barge")
    assert err.value.code == "leg_cannot_send"


async def test_a_caller_who_reloads_during_a_consult_is_told_it_is_held(world):
    owner, back, caller, call_id, _ = await consulting(world)
    token = world.engine.sessions.live[call_id].token
    await world.engine.caller_disconnected(caller)
    assert "caller" not in world.engine.media.calls[call_id].receives  # the call goes on without its leg
    await world.engine.caller_connected("caller1-again", token)
    await world.engine.after_resume("caller1-again")
    assert (await world.to("caller1-again", "call:held"))[-1] == {"call_id": call_id, "held": True, "reason": "consult"}
