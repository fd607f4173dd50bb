"""Several people in one call, in the log (issue 13): participant rows written by the session writer,
read back with the session, counted by the metrics and credited by the scores (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from signaling.store.journal import Journal
from signaling.store.scores import Cell, compute_scores
from signaling.store.writer import SessionWriter

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(item_store):
    return item_store


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


async def _accounts(store) -> tuple[int, int]:
    front = await store.upsert_account("front", "specialist", "pw-long-enough-1", "Front Desk", ["SI-001"])
    back = await store.upsert_account("back", "specialist", "pw-long-enough-2", "Back Office", ["SI-001"])
    return front["id"], back["id"]


def _consulted_session(writer: SessionWriter, sid: str, front: int, back: int, wait_ms: int) -> None:
    """A call answered by `front` who invites `back` to a consult that becomes a conference."""
    writer.create(id=sid, service_item_code="SI-001", caller={"name": "Ms Li"}, created_at=at(0))
    writer.update(sid, event="answered", at=at(1), status="connected", answered_at=at(1), specialist_id=front)
    writer.update(sid, event="media", at=at(1.2), media_at=at(1.2))
    writer.participant(sid, role="caller", account_id=None, display_name="Ms Li", mode=None, invite_id=None,
                       wait_ms=None, at=at(1))
    writer.participant(sid, role="front_desk", account_id=front, display_name="Front Desk", mode=None,
                       invite_id=None, wait_ms=None, at=at(1))
    writer.event(sid, "invited", at(10), {"invite_id": "i1", "mode": "consult"})
    writer.event(sid, "invite_accepted", at(10 + wait_ms / 1000), {"invite_id": "i1", "wait_ms": wait_ms})
    writer.participant(sid, role="back_office", account_id=back, display_name="Back Office", mode="consult",
                       invite_id="i1", wait_ms=wait_ms, at=at(12))
    writer.participant_left(sid, role="back_office", account_id=back, at=at(30))
    writer.participant(sid, role="back_office", account_id=back, display_name="Back Office", mode="conference",
                       invite_id="i1", wait_ms=None, at=at(30))
    writer.participant_left(sid, role=None, account_id=None, at=at(60))
    writer.update(sid, event="ended", at=at(60), status="ended", outcome="answered", ended_at=at(60),
                  end_reason="hangup", ended_by="caller")


async def test_participants_are_logged_counted_and_credited(store, tmp_path):
    front, back = await _accounts(store)
    writer = SessionWriter(store, Journal(tmp_path / "journal.jsonl"))
    await writer.start()
    try:
        _consulted_session(writer, "a" * 32, front, back, wait_ms=1500)
        _consulted_session(writer, "b" * 32, front, back, wait_ms=4000)
        writer.create(id="c" * 32, service_item_code="SI-001", caller={"name": "Ms Li"}, created_at=at(0))
        writer.event("c" * 32, "invited", at(5), {"invite_id": "i2", "mode": "consult"})
        writer.event("c" * 32, "invite_ended", at(8), {"invite_id": "i2", "reason": "declined"})
        await writer.applied()
    finally:
        await writer.stop()
    await store.rate_session("a" * 32, 5, None, at(70))

    session = await store.get_session("a" * 32)
    rows = [(p["role"], p["account_id"], p["mode"], p["wait_ms"], p["left_at"] is not None)
            for p in session["participants"]]
    assert rows == [("caller", None, None, None, True), ("front_desk", front, None, None, True),
                    ("back_office", back, "consult", 1500, True), ("back_office", back, "conference", None, True)]
    assert session["participants"][2]["left_at"].startswith("2026-12-02T08:00:30")

    metrics = await store.metrics(since=T0 - timedelta(hours=1), until=T0 + timedelta(hours=1), threshold_s=2.0)
    several = metrics["several"]
    assert (several["invites"], several["declined"], several["consults"], several["conferences"]) == (3, 1, 2, 2)
    assert several["handovers"] == 0
    assert several["reach_back_office_ms"] == {"mean": 2750.0, "p50": 1500, "p90": 4000}
    [item] = metrics["by_service_item"]
    assert (item["consults"], item["conferences"], item["reach_back_office_ms"]) == (2, 2, 2750.0)

    scores = {row["id"]: row for row in await store.scores(since=T0 - timedelta(hours=1),
                                                             until=T0 + timedelta(hours=1), threshold_s=2.0)}
    assert scores[back]["answered"] == 0 and scores[back]["breakdown"]["assisted"] == 2
    assert scores[back]["breakdown"]["answer_timeliness"] == 0.5  # one of two accepted within 2 s
    assert scores[back]["breakdown"]["mean_satisfaction"] == 5.0  # the caller's rating of the call it assisted
    assert scores[back]["score"] is not None
    assert scores[front]["answered"] == 2 and scores[front]["breakdown"]["assisted"] == 0


def test_the_back_office_part_counts_in_timeliness_difficulty_and_satisfaction():
    owner_only = compute_scores([Cell(1, "SI-001", answered=2, within=2)], {"SI-001": 4})[1]
    helped = compute_scores([Cell(1, "SI-001", answered=2, within=2, assisted=2, assisted_within=0)],
                            {"SI-001": 4})[1]
    assert owner_only.answer_timeliness == 1.0 and helped.answer_timeliness == 0.5
    assert helped.mean_difficulty == owner_only.mean_difficulty == 4.0
    back_only = compute_scores([Cell(2, "SI-001", assisted=1, assisted_within=1, satisfaction_sum=4,
                                     satisfaction_n=1)], {"SI-001": 3})[2]
    assert back_only.answered == 0 and back_only.assisted == 1
    assert back_only.score == pytest.approx(100 * (0.4 * 1.0 + 0.2 * 0.5 + 0.4 * 0.75))
