"""Session references (engine/references.py): the format, the center's local date, the per-day
counter, and its seed from the log across a restart on the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from signaling.engine.references import ReferenceSequence, ReferenceSettingError, time_zone
from signaling.store import Store
from signaling.store.journal import Journal
from signaling.store.writer import SessionWriter

SHANGHAI = time_zone("Asia/Shanghai")
# 17:30 UTC on 1 December is 01:30 on 2 December in Shanghai: the center's date is the 2nd.
LATE = datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc)


def test_a_reference_is_prefix_local_date_and_counter_within_20_characters():
    refs = ReferenceSequence("XH", SHANGHAI)
    first, second = refs.next(LATE), refs.next(LATE + timedelta(minutes=1))
    assert (first, second) == ("XH-20261202-0001", "XH-20261202-0002")
    assert re.fullmatch(r"[A-Z0-9]{1,5}-\d{8}-\d{4,5}", first) and len(first) <= 20


def test_the_counter_starts_again_each_local_day():
    refs = ReferenceSequence("XH", SHANGHAI)
    refs.next(LATE)
    refs.next(LATE)
    # 16:00 UTC on the 2nd is midnight of the 3rd in Shanghai.
    assert refs.next(datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)) == "XH-20261203-0001"


def test_the_longest_prefix_leaves_room_for_99999_a_day_then_no_reference():
    refs = ReferenceSequence("ABCDE", SHANGHAI)
    refs._day, refs._last = refs.day_of(LATE), 99_998
    assert refs.next(LATE) == "ABCDE-20261202-99999"
    assert len("ABCDE-20261202-99999") == 20
    assert refs.next(LATE) is None  # the session is kept; its id is shown instead


@pytest.mark.parametrize("prefix", ["", "xh", "TOOLONG", "X H", "XH-"])
def test_a_prefix_that_cannot_fit_or_be_read_is_refused(prefix):
    with pytest.raises(ReferenceSettingError):
        ReferenceSequence(prefix, SHANGHAI)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ReferenceSettingError):
        time_zone("Mars/Olympus_Mons")


@pytest.fixture
def store(item_store):
    return item_store  # conftest.py: SQLite and PostgreSQL, with one service item


async def _run(store: Store, tmp_path, count: int, *, seed: bool = True) -> list[str | None]:
    """One server run: the writer replays its journal, the sequence is seeded, `count` sessions are
    requested, and the writer stops (as at a restart)."""
    writer = SessionWriter(store, Journal(tmp_path / "journal" / "sessions-test.jsonl"))
    await writer.start()
    refs = ReferenceSequence("XH", SHANGHAI)
    if seed:
        await refs.seed(LATE, store.last_reference_number)
    handed = []
    for _ in range(count):
        reference = refs.next(LATE)
        writer.create(id=uuid.uuid4().hex, service_item_code="SI-001", caller={"name": "c"}, created_at=LATE,
                      reference=reference)
        handed.append(reference)
    await writer.stop()
    return handed


async def test_the_counter_goes_on_after_a_restart_on_the_same_database(store, tmp_path):
    assert await _run(store, tmp_path, 3) == ["XH-20261202-0001", "XH-20261202-0002", "XH-20261202-0003"]
    assert await _run(store, tmp_path, 2) == ["XH-20261202-0004", "XH-20261202-0005"]
    items, total = await store.list_sessions(limit=10)
    assert total == 5 and len({s["reference"] for s in items}) == 5
    assert await store.last_reference_number("XH-20261202-") == 5
    assert await store.last_reference_number("XH-20261203-") == 0


async def test_a_reference_taken_twice_is_refused_by_the_index_and_the_session_is_kept_without_it(store, tmp_path):
    await _run(store, tmp_path, 2)
    again = await _run(store, tmp_path, 1, seed=False)  # an unseeded counter (a second server, no shared one)
    assert again == ["XH-20261202-0001"]
    items, total = await store.list_sessions(limit=10)
    assert total == 3  # not lost
    assert sorted(s["reference"] or "-" for s in items) == ["-", "XH-20261202-0001", "XH-20261202-0002"]


async def test_the_log_search_finds_a_reference_whole_or_by_its_start(store, tmp_path):
    await _run(store, tmp_path, 12)
    by_whole, total = await store.list_sessions(q="xh-20261202-0011")
    assert total == 1 and by_whole[0]["reference"] == "XH-20261202-0011"
    _, total = await store.list_sessions(q="XH-20261202-001")  # 0010, 0011, 0012
    assert total == 3
    _, total = await store.list_sessions(q="XH-20261203")
    assert total == 0
