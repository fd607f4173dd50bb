"""Metrics and specialist scores against a fixture whose answers were worked out by hand.

The fixture (T0 = 2026-11-26 08:00 UTC; times in seconds after each session's creation):

 n  item    spec answered media ended   outcome    wait  connect talk  rating own-difficulty
 1  SI-001  a    1.0      1.5   61.5    answered   1000  1500    60    5      4
 2  SI-001  a    1.8      2.5   122.5   answered   1800  2500    120   3      -
 3  BR-002  b    0.5      1.0   31.0    answered   500   1000    30    -      5
 4  BR-002  -    -        -     1.5     abandoned  (waited 1.5 s)
 5  SI-001  -    -        -     10      abandoned  (waited 10 s)
 6  SI-001  -    -        -     60      missed
 7  BR-002  b    3.0      -     23.0    failed     3000  -       20    -      -
 8  SI-001  b    0.2      0.6   135.6   answered   200   600     135   4      -    (created T0 + 2 h)
 9  SI-001  -    -        -     2.0     abandoned  (waited exactly 2 s: within, the bound is inclusive)
10  SI-001  a    0.1      0.1   10      answered   outside the range (T0 - 1 day)

Range [T0, T0 + 3 h), threshold 2 s:
- offered 9, answered 5 (1 2 3 7 8), abandoned 3 (4 5 9), missed 1
- service_level = within / answered = (1 3 8) 3/5 = 0.6
- service_level_abandons = (3 + abandoned within: 4 9) / (5 + 3) = 5/8
- asa_ms = (1000+1800+500+3000+200)/5 = 1300; aht_s = (60+120+30+20+135)/5 = 73
- abandonment_rate = 3/9
- connect_ms of [600, 1000, 1500, 2500] (nearest rank): p50 = rank 2 = 1000, p90 = rank 4 = 2500, p99 = 2500
- at 3 s: session 2 joins → service_level 4/5, with abandons (4+2)/8

Scores (store/scores.py, docs/administration.md): item norms are the items' AHT over
everyone: SI-001 (60+120+135)/3 = 105 s, BR-002 (30+20)/2 = 25 s. Item difficulty: SI-001 2, BR-002 3.
- a: A = 1/2; SI-001 AHT 90/105 < 1 → h = 1, H = 1; T = 0.75.
     d: s1 (2+4)/2 = 3, s2 (2+2)/2 = 2 → mean 2.5, D = 0.375. S = (4-1)/4 = 0.75.
     score = 100 (0.4·0.75 + 0.2·0.375 + 0.4·0.75) = 67.5
- b: A = 2/3; BR-002 25/25 → h 1 (×2 sessions), SI-001 135/105 = 9/7 → h = 2 - 9/7 = 5/7 (×1):
     H = (2 + 5/7)/3 = 19/21; T = (14/21 + 19/21)/2 = 11/14.
     d: s3 (3+5)/2 = 4, s7 3, s8 2 → mean 3, D = 0.5. S = (4-1)/4 = 0.75.
     score = 100 (0.4·11/14 + 0.2·0.5 + 0.4·0.75) = 71.428… → 71.4
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from signaling.store import Store
from signaling.store.metrics import bin_histogram, nearest_rank, percentiles_from_histogram
from signaling.store.scores import Cell, compute_scores, handle_factor

T0 = datetime(2026, 11, 26, 8, 0, 0)
ITEMS = [
    {"code": "SI-001", "name": "企业职工社会保险开户", "name_en": "Open employee social insurance accounts",
     "category": "social_insurance", "department": "人社局", "level": "district", "difficulty": 2},
    {"code": "BR-002", "name": "营业执照变更登记", "name_en": "Change a business license",
     "category": "business_registration", "department": "市场监管局", "level": "district", "difficulty": 3},
]


def _sid(n: int) -> str:
    return f"{n:032x}"


async def _session(store, n, code, created, *, specialist=None, answered=None, media=None, ended=None,
                   outcome=None, difficulty=None):
    await store.create_session(id=_sid(n), service_item_code=code, caller={"name": f"c{n}"}, created_at=created)
    fields = {"specialist_id": specialist, "outcome": outcome, "difficulty": difficulty}
    for key, offset in (("answered_at", answered), ("media_at", media), ("ended_at", ended)):
        if offset is not None:
            fields[key] = created + timedelta(seconds=offset)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["status"] = "ended"
    await store.update_session(_sid(n), event="test", at=created, **fields)


@pytest.fixture
async def fixture_store(tmp_path):
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await store.open()
    await store.import_service_items(ITEMS)
    a = (await store.upsert_account("zhang.wei", "specialist", "password1", display_name="张伟"))["id"]
    b = (await store.upsert_account("li.na", "specialist", "password1", display_name="李娜"))["id"]
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    await _session(store, 1, "SI-001", at(0), specialist=a, answered=1.0, media=1.5, ended=61.5, outcome="answered", difficulty=4)
    await _session(store, 2, "SI-001", at(10), specialist=a, answered=1.8, media=2.5, ended=122.5, outcome="answered")
    await _session(store, 3, "BR-002", at(20), specialist=b, answered=0.5, media=1.0, ended=31.0, outcome="answered", difficulty=5)
    await _session(store, 4, "BR-002", at(30), ended=1.5, outcome="abandoned")
    await _session(store, 5, "SI-001", at(40), ended=10, outcome="abandoned")
    await _session(store, 6, "SI-001", at(50), ended=60, outcome="missed")
    await _session(store, 7, "BR-002", at(60), specialist=b, answered=3.0, ended=23.0, outcome="failed")
    await _session(store, 8, "SI-001", T0 + timedelta(hours=2), specialist=b, answered=0.2, media=0.6, ended=135.6, outcome="answered")
    await _session(store, 9, "SI-001", at(70), ended=2.0, outcome="abandoned")
    await _session(store, 10, "SI-001", T0 - timedelta(days=1), specialist=a, answered=0.1, media=0.1, ended=10, outcome="answered")
    await store.rate_session(_sid(1), 5, None, at(100))
    await store.rate_session(_sid(2), 3, None, at(200))
    await store.rate_session(_sid(8), 4, None, T0 + timedelta(hours=2, minutes=3))
    yield store, a, b
    await store.close()


RANGE = {"since": T0, "until": T0 + timedelta(hours=3)}


async def test_totals_both_service_levels_and_percentiles(fixture_store):
    store, a, b = fixture_store
    m = await store.metrics(**RANGE, threshold_s=2)
    assert (m["offered"], m["answered"], m["abandoned"], m["missed"]) == (9, 5, 3, 1)
    assert m["service_level"] == pytest.approx(3 / 5)
    assert m["service_level_abandons"] == pytest.approx(5 / 8)
    assert m["asa_ms"] == pytest.approx(1300.0)
    assert m["aht_s"] == pytest.approx(73.0)
    assert m["abandonment_rate"] == pytest.approx(3 / 9)
    assert m["connect_ms"] == {"p50": 1000, "p90": 2500, "p99": 2500}

    looser = await store.metrics(**RANGE, threshold_s=3)
    assert looser["service_level"] == pytest.approx(4 / 5)
    assert looser["service_level_abandons"] == pytest.approx(6 / 8)
    stricter = await store.metrics(**RANGE, threshold_s=1.5)
    assert stricter["service_level"] == pytest.approx(3 / 5)       # 1500 is within 1.5 s (inclusive)
    assert stricter["service_level_abandons"] == pytest.approx(4 / 8)  # only session 4 (1.5 s) of the abandons


async def test_by_service_item_and_by_hour(fixture_store):
    store, a, b = fixture_store
    m = await store.metrics(**RANGE, threshold_s=2)
    items = {r["code"]: r for r in m["by_service_item"]}
    assert (items["BR-002"]["offered"], items["BR-002"]["answered"], items["BR-002"]["abandoned"]) == (3, 2, 1)
    assert items["BR-002"]["service_level"] == pytest.approx(1 / 2)       # 3 within, 7 no media
    assert items["BR-002"]["service_level_abandons"] == pytest.approx(2 / 3)  # + session 4
    assert items["BR-002"]["asa_ms"] == pytest.approx(1750.0)
    assert (items["SI-001"]["offered"], items["SI-001"]["answered"], items["SI-001"]["missed"]) == (6, 3, 1)
    assert items["SI-001"]["service_level"] == pytest.approx(2 / 3)       # 1 and 8
    assert items["SI-001"]["asa_ms"] == pytest.approx(1000.0)            # (1000+1800+200)/3
    assert items["SI-001"]["aht_s"] == pytest.approx(105.0)

    hours = {r["hour"]: r for r in m["by_hour"] if r["offered"]}
    assert set(hours) == {8, 10}
    assert (hours[8]["offered"], hours[8]["answered"], hours[10]["offered"]) == (8, 4, 1)
    assert hours[8]["service_level"] == pytest.approx(2 / 4) and hours[10]["service_level"] == 1.0
    beijing = await store.metrics(**RANGE, threshold_s=2, tz_offset_min=480)
    assert {r["hour"] for r in beijing["by_hour"] if r["offered"]} == {16, 18}
    west = await store.metrics(**RANGE, threshold_s=2, tz_offset_min=-600)
    assert {r["hour"] for r in west["by_hour"] if r["offered"]} == {22, 0}

    h = m["connect_histogram"]
    assert sum(h["counts"]) + h["over"] == 4 and h["threshold_ms"] == 2000
    assert h["counts"][600 // h["bin_ms"]] >= 1


async def test_poor_calls_by_service_item_and_by_hour(fixture_store):
    """A poor call is a session whose quality_level is poor (media/quality.py): sessions 1 (SI-001,
    08h) poor, 3 (BR-002, 08h) good, 8 (SI-001, 10h) fair, 10 poor but outside the range."""
    store, a, b = fixture_store
    for n, level in ((1, "poor"), (3, "good"), (8, "fair"), (10, "poor")):
        summary = {"caller": {"level": level}, "specialist": {"level": "good"}}
        await store.update_session(_sid(n), event="test", at=T0, quality=summary, quality_level=level)
    m = await store.metrics(**RANGE, threshold_s=2)
    assert m["quality"] == {"calls": 3, "poor_calls": 1, "poor_share": pytest.approx(1 / 3)}
    items = {r["code"]: r for r in m["by_service_item"]}
    assert (items["SI-001"]["quality_calls"], items["SI-001"]["poor_calls"], items["SI-001"]["poor_share"]) == (2, 1, 0.5)
    assert (items["BR-002"]["quality_calls"], items["BR-002"]["poor_share"]) == (1, 0.0)
    hours = {r["hour"]: r for r in m["by_hour"]}
    assert (hours[8]["quality_calls"], hours[8]["poor_calls"], hours[10]["quality_calls"]) == (2, 1, 1)
    assert hours[9]["quality_calls"] == 0 and hours[9]["poor_share"] is None
    assert (await store.get_session(_sid(1)))["quality_level"] == "poor"
    empty = await store.metrics(since=T0 + timedelta(days=5), until=None)
    assert empty["quality"] == {"calls": 0, "poor_calls": 0, "poor_share": None}


async def test_scores_by_hand(fixture_store):
    store, a, b = fixture_store
    m = await store.metrics(**RANGE, threshold_s=2)
    spec = {r["id"]: r for r in m["by_specialist"]}
    assert spec[a]["score"] == pytest.approx(67.5)
    assert spec[b]["score"] == pytest.approx(71.4)
    assert (spec[a]["answered"], spec[a]["aht_s"], spec[a]["satisfaction"]) == (2, 90.0, 4.0)
    assert (spec[b]["answered"], spec[b]["aht_s"], spec[b]["satisfaction"]) == (3, pytest.approx(61.7), 4.0)

    board = await store.scores(**RANGE, threshold_s=2)
    assert [(r["rank"], r["id"]) for r in board] == [(1, b), (2, a)]
    ba = next(r for r in board if r["id"] == a)["breakdown"]
    assert ba["answer_timeliness"] == pytest.approx(0.5)
    assert ba["handle_timeliness"] == pytest.approx(1.0)
    assert ba["timeliness"] == pytest.approx(0.75)
    assert (ba["mean_difficulty"], ba["difficulty"]) == (pytest.approx(2.5), pytest.approx(0.375))
    assert (ba["mean_satisfaction"], ba["satisfaction"]) == (pytest.approx(4.0), pytest.approx(0.75))
    bb = next(r for r in board if r["id"] == b)["breakdown"]
    assert bb["answer_timeliness"] == pytest.approx(2 / 3, abs=1e-3)
    assert bb["handle_timeliness"] == pytest.approx(19 / 21, abs=1e-3)
    assert bb["timeliness"] == pytest.approx(11 / 14, abs=1e-3)
    assert bb["difficulty"] == pytest.approx(0.5)
    si = next(i for i in bb["items"] if i["code"] == "SI-001")
    assert (si["aht_s"], si["norm_aht_s"], si["handle_factor"]) == (135.0, 105.0, pytest.approx(5 / 7, abs=1e-3))
    assert si["name"] == "企业职工社会保险开户"


async def test_empty_range(fixture_store):
    store, a, b = fixture_store
    m = await store.metrics(since=T0 + timedelta(days=5), until=None)
    assert (m["offered"], m["service_level"], m["service_level_abandons"], m["asa_ms"], m["abandonment_rate"]) == (
        0, None, None, None, None)
    assert m["connect_ms"] == {"p50": None, "p90": None, "p99": None}
    assert m["by_specialist"] == [] and len(m["by_hour"]) == 24
    assert await store.scores(since=T0 + timedelta(days=5), until=None) == []
    summary = await store.metrics(**RANGE, detail=False)  # the wallboard's cheap call
    assert (summary["offered"], summary["answered"], summary["service_level"]) == (9, 5, pytest.approx(0.6))


def test_scores_rules():
    assert [handle_factor(r) for r in (0.5, 1.0, 1.5, 2.0, 3.0)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    # No ratings → neutral satisfaction 0.5; no answered session → no score.
    cells = [Cell(1, "X", answered=2, within=2, talk_sum=100, talk_n=2), Cell(2, "X", satisfaction_sum=5, satisfaction_n=1)]
    scores = compute_scores(cells, {"X": 5})
    assert scores[1].satisfaction is None
    assert scores[1].score == pytest.approx(100 * (0.4 * 1 + 0.2 * 1 + 0.4 * 0.5))
    assert scores[2].score is None and scores[2].mean_satisfaction == 5


def test_histogram_percentiles_equal_nearest_rank():
    rnd = random.Random(6)
    for _ in range(50):
        values = sorted(rnd.randint(0, 5000) for _ in range(rnd.randint(1, 300)))
        hist = {}
        for v in values:
            hist[v] = hist.get(v, 0) + 1
        got = percentiles_from_histogram(sorted(hist.items()))
        assert got == {f"p{p}": nearest_rank(values, p) for p in (50, 90, 99)}
    assert percentiles_from_histogram([]) == {"p50": None, "p90": None, "p99": None}
    bins = bin_histogram([(100, 2), (1999, 1), (2000, 1), (99_000, 1)], 2000, 2000)
    assert bins["bin_ms"] * len(bins["counts"]) >= 4000 and bins["over"] == 1 and sum(bins["counts"]) == 4
