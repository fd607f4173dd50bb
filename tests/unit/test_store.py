"""signaling.store against SQLite and PostgreSQL (same code, same expectations)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from signaling.store import CatalogError, Store, StoreError, load_catalog_file
from signaling.store.demo import DEMO_ACCOUNTS, DEMO_SERVICE_ITEMS, load_demo
from signaling.store.models import Account, Base

T0 = datetime(2026, 11, 26, 8, 0, 0)


@pytest.fixture
async def store(database):
    url, kwargs = database
    s = Store(url, engine_kwargs=kwargs)
    await s.open()
    yield s
    await s.close()


ITEMS = [
    {"code": "SI-001", "name": "企业职工社会保险开户", "name_en": "Open employee social insurance accounts",
     "category": "social_insurance", "department": "人力资源和社会保障局", "level": "district", "difficulty": 2},
    {"code": "BR-002", "name": "营业执照变更登记", "name_en": "Change a business license",
     "category": "business_registration", "department": "市场监督管理局", "level": "district", "difficulty": 3},
]


@pytest.fixture
async def catalog(store):
    await store.import_service_items(ITEMS)
    return store


# ---- migrations ----------------------------------------------------------


async def test_migrations_apply_twice_and_match_models(database, store):
    url, kwargs = database
    again = Store(url, engine_kwargs=kwargs)
    await again.open()  # already at head: must be a no-op
    try:
        async with again._engine.connect() as conn:
            versions = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            assert versions == _migration_heads()  # every branch applied, once
            diff = await conn.run_sync(_schema_diff)
        assert diff == []  # the migration builds exactly what models.py declares
    finally:
        await again.close()


def _migration_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from signaling.store.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return set(ScriptDirectory.from_config(config).get_heads())


def _schema_diff(sync_conn):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return compare_metadata(ctx, Base.metadata)


async def test_sqlite_parent_directory_is_created(tmp_path):
    s = Store(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'vw.db'}")
    await s.open()
    await s.close()
    assert (tmp_path / "a" / "b" / "vw.db").exists()


# ---- catalog ------------------------------------------------------------


async def test_catalog_import_upserts_by_code(store):
    assert await store.import_service_items(ITEMS) == 2
    changed = {**ITEMS[0], "name": "社保开户（新）", "difficulty": 4}
    extra = {**ITEMS[1], "code": "TX-001", "name": "新办纳税人套餐", "name_en": "New taxpayer", "category": "tax"}
    assert await store.import_service_items([changed, extra]) == 2
    assert await store.count_service_items() == 3
    assert (await store.get_service_item("SI-001"))["name"] == "社保开户（新）"
    assert (await store.get_service_item("SI-001"))["difficulty"] == 4
    assert await store.get_service_item("NOPE") is None
    # ordered by category, then code
    assert [i["code"] for i in await store.search_service_items()] == ["BR-002", "SI-001", "TX-001"]
    assert [i["code"] for i in await store.search_service_items("BUSINESS lic")] == ["BR-002"]
    assert [i["code"] for i in await store.search_service_items("si-0")] == ["SI-001"]
    assert [i["code"] for i in await store.search_service_items("纳税")] == ["TX-001"]
    assert await store.search_service_items("100%") == []  # LIKE wildcards are literal
    assert len(await store.search_service_items(limit=1)) == 1


async def test_catalog_import_is_all_or_nothing(store):
    await store.import_service_items(ITEMS)
    bad = [
        {**ITEMS[0], "name": "changed", "_line": 2},
        {**ITEMS[1], "code": "NEW-1", "_line": 3},
        {**ITEMS[1], "code": "NEW-2", "difficulty": 7, "_line": 9},
    ]
    with pytest.raises(CatalogError) as info:
        await store.import_service_items(bad)
    assert info.value.line == 9
    assert str(info.value) == "line 9: difficulty must be an integer 1-5"
    assert await store.count_service_items() == 2
    assert (await store.get_service_item("SI-001"))["name"] == ITEMS[0]["name"]
    # without _line, the 1-based position names the item
    for item, message in [
        ({**ITEMS[0], "level": "province"}, "level must be district or municipal"),
        ({k: v for k, v in ITEMS[0].items() if k != "department"}, "missing department"),
        ({**ITEMS[0], "code": "  "}, "code must not be empty"),
        ({**ITEMS[0], "difficulty": True}, "difficulty must be an integer 1-5"),
    ]:
        with pytest.raises(CatalogError, match=f"^line 2: {message}$"):
            await store.import_service_items([ITEMS[1], item])


def _write(path, content: str, encoding="utf-8"):
    path.write_bytes(content.encode(encoding))
    return path


HEADER = "code,name,name_en,category,department,level,difficulty\n"


def test_load_catalog_csv_with_bom_and_line_numbers(tmp_path):
    path = _write(tmp_path / "c.csv", HEADER
                  + "SI-001,企业职工社会保险开户,Open accounts,social_insurance,人社局,district,2\n"
                  + "\n"
                  + 'BR-002,"营业执照变更登记",Change a business license,business_registration,市监局,municipal, 3\n',
                  encoding="utf-8-sig")
    items = load_catalog_file(path)
    assert [(i["code"], i["_line"], i["difficulty"]) for i in items] == [("SI-001", 2, 2), ("BR-002", 4, 3)]
    assert items[1]["level"] == "municipal"


@pytest.mark.parametrize("body, line, message", [
    ("SI-001,a,b,c,d,district,2\nBR-002,a,b,c,d,district,high\n", 3, "difficulty must be an integer 1-5"),
    ("SI-001,a,b,c,d,district,2\n\nBR-002,a,b,c,d,city,2\n", 4, "level must be district or municipal"),
    ('SI-001,"two\nlines",b,c,d,district,2\nX,a,b,c,d,district\n', 4, "expected 7 fields, found 6"),
    ("SI-001,,b,c,d,district,2\n", 2, "name must not be empty"),
])
def test_load_catalog_csv_errors_name_the_line(tmp_path, body, line, message):
    with pytest.raises(CatalogError) as info:
        load_catalog_file(_write(tmp_path / "c.csv", HEADER + body))
    assert (info.value.line, info.value.message) == (line, message)
    assert str(info.value) == f"line {line}: {message}"


def test_load_catalog_file_errors(tmp_path):
    with pytest.raises(CatalogError, match="^line 1: header must be"):
        load_catalog_file(_write(tmp_path / "h.csv", "code,name\nSI-001,x\n"))
    with pytest.raises(CatalogError, match="^line 1: empty file"):
        load_catalog_file(_write(tmp_path / "e.csv", ""))
    (tmp_path / "latin.csv").write_bytes(HEADER.encode() + b"SI-001,caf\xe9,b,c,d,district,2\n")
    with pytest.raises(CatalogError, match="^line 2: not valid UTF-8"):
        load_catalog_file(tmp_path / "latin.csv")
    with pytest.raises(CatalogError) as info:
        load_catalog_file(tmp_path / "missing.csv")
    assert info.value.line is None and "cannot read" in str(info.value)


def test_load_catalog_json(tmp_path):
    path = _write(tmp_path / "c.json", json.dumps(ITEMS, ensure_ascii=False))
    items = load_catalog_file(path)
    assert [(i["code"], i["_line"]) for i in items] == [("SI-001", 1), ("BR-002", 2)]
    bad = [ITEMS[0], {**ITEMS[1], "difficulty": "3"}]
    with pytest.raises(CatalogError, match="^line 2: difficulty must be an integer 1-5$"):
        load_catalog_file(_write(tmp_path / "bad.json", json.dumps(bad)))
    with pytest.raises(CatalogError, match="^line 2: name must be text$"):
        load_catalog_file(_write(tmp_path / "bad.json", json.dumps([ITEMS[0], {**ITEMS[1], "name": 5}])))
    with pytest.raises(CatalogError, match="^line 3: invalid JSON"):
        load_catalog_file(_write(tmp_path / "bad.json", '[\n{"code": "x",\n oops}]'))
    with pytest.raises(CatalogError, match="^line 1: expected a JSON list"):
        load_catalog_file(_write(tmp_path / "bad.json", '{"code": "x"}'))


# ---- accounts -----------------------------------------------------------


async def test_accounts_upsert_and_authenticate(store):
    with pytest.raises(StoreError) as info:
        await store.upsert_account("zhang.wei", "specialist", None)
    assert info.value.code == "password_required"
    with pytest.raises(StoreError):
        await store.upsert_account("x", "boss", "password1")
    with pytest.raises(StoreError) as info:
        await store.upsert_account("x", "specialist", "short")
    assert info.value.code == "password_too_short"
    assert (await store.upsert_account("x", "specialist", "short", check_password=False))["username"] == "x"

    created = await store.upsert_account(
        "zhang.wei", "specialist", "s3cret-pass", display_name="张伟", skills=["category:tax", "SI-001"]
    )
    assert created == {"id": created["id"], "username": "zhang.wei", "display_name": "张伟",
                       "role": "specialist", "skills": ["SI-001", "category:tax"], "disabled": False}
    assert await store.authenticate("zhang.wei", "s3cret-pass") == {**created, "token_version": 0}
    assert await store.authenticate("zhang.wei", "wrong") is None
    assert await store.authenticate("nobody", "s3cret-pass") is None

    async with store._db() as db:
        stored = await db.scalar(select(Account.password_hash).where(Account.username == "zhang.wei"))
    assert stored.startswith("$argon2id$") and "s3cret" not in stored

    # no password and no skills given: both kept; display name changed
    updated = await store.upsert_account("zhang.wei", "specialist", None, display_name="张伟 (组长)")
    assert updated["skills"] == ["SI-001", "category:tax"] and updated["display_name"] == "张伟 (组长)"
    assert await store.authenticate("zhang.wei", "s3cret-pass") is not None
    # new password and a replaced skill set
    updated = await store.upsert_account("zhang.wei", "specialist", "n3w-passw0rd", skills=["category:legal_aid"])
    assert updated["skills"] == ["category:legal_aid"]
    assert await store.authenticate("zhang.wei", "s3cret-pass") is None
    assert (await store.authenticate("zhang.wei", "n3w-passw0rd"))["id"] == created["id"]

    admin = await store.upsert_account("admin", "admin", "password1")
    assert admin["display_name"] == "admin" and admin["skills"] == []
    assert await store.count_accounts() == 3
    assert [a["username"] for a in await store.list_accounts()] == ["x", "zhang.wei", "admin"]
    assert [a["username"] for a in await store.list_accounts("admin")] == ["admin"]
    assert await store.get_account(created["id"]) == updated
    assert await store.get_account(99999) is None


async def test_token_version_bumps_on_role_password_disable_and_logout(store):
    a = (await store.upsert_account("li.na", "specialist", "password1"))["id"]
    assert await store.token_state(a) == (0, False)
    await store.upsert_account("li.na", "specialist", None, display_name="李娜", skills=["SI-001"])
    assert await store.token_state(a) == (0, False)  # name and skills revoke nothing
    await store.upsert_account("li.na", "admin", None)
    assert await store.token_state(a) == (1, False)  # role
    await store.upsert_account("li.na", "admin", "password2")
    assert await store.token_state(a) == (2, False)  # password
    disabled = await store.upsert_account("li.na", "admin", None, disabled=True)
    assert disabled["disabled"] is True and await store.token_state(a) == (3, True)
    found = await store.authenticate("li.na", "password2")
    assert found["disabled"] is True and found["token_version"] == 3  # the login refuses it
    await store.upsert_account("li.na", "admin", None, disabled=False)
    assert await store.revoke_tokens(a) == (5, False)  # re-enabled, then a logout
    assert await store.token_state(99999) is None


# ---- sessions -----------------------------------------------------------


def _sid(n: int) -> str:
    return f"{n:032x}"


async def test_session_lifecycle(catalog):
    store = catalog
    spec = await store.upsert_account("li.na", "specialist", "password1", display_name="李娜")
    # a timezone-aware time is converted to UTC (16:00 in Beijing is 08:00 UTC)
    created = datetime(2026, 11, 26, 16, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    s = await store.create_session(
        id=_sid(1), service_item_code="SI-001",
        caller={"name": "王小明", "company": "星河科技有限公司", "phone": "+86 138 0000 0000"},
        created_at=created,
    )
    assert s["status"] == "queued" and s["outcome"] is None and s["specialist"] is None
    assert s["created_at"] == "2026-11-26T08:00:00.123Z"
    assert s["service_item"] == {"code": "SI-001", "name": "企业职工社会保险开户"}
    assert s["caller"] == {"name": "王小明", "company": "星河科技有限公司", "phone": "+86 138 0000 0000"}

    t = T0 + timedelta(microseconds=123456)
    await store.update_session(_sid(1), event="offered", at=t + timedelta(seconds=0.2), status="offered",
                               specialist_id=spec["id"], offered_at=t + timedelta(seconds=0.2))
    s = await store.update_session(_sid(1), event="answered", at=t + timedelta(seconds=1.1),
                                   data={"auto": False}, status="connected",
                                   answered_at=t + timedelta(seconds=1.1))
    assert (s["wait_ms"], s["connect_ms"], s["talk_s"]) == (1100, None, None)
    assert s["specialist"] == {"id": spec["id"], "username": "li.na", "display_name": "李娜"}
    s = await store.update_session(_sid(1), event="media", at=t + timedelta(seconds=1.75),
                                   media_at=t + timedelta(seconds=1.75))
    assert s["connect_ms"] == 1750
    await store.add_event(_sid(1), "chat", t + timedelta(seconds=5), {"from": "caller"})
    s = await store.update_session(_sid(1), event="ended", at=t + timedelta(seconds=96.8),
                                   status="ended", outcome="answered", ended_at=t + timedelta(seconds=96.8),
                                   end_reason="hangup", ended_by="caller")
    assert (s["wait_ms"], s["connect_ms"], s["talk_s"]) == (1100, 1750, 95.0)
    s = await store.update_session(_sid(1), event="wrapup", at=t + timedelta(seconds=120),
                                   notes="已指导开户", disposition="resolved", difficulty=3)
    assert (s["notes"], s["disposition"], s["difficulty"]) == ("已指导开户", "resolved", 3)
    assert s["ended_at"] == "2026-11-26T08:01:36.923Z" and s["recordings"] == []
    assert "events" not in s

    full = await store.get_session(_sid(1))
    assert [e["type"] for e in full["events"]] == ["queued", "offered", "answered", "media", "chat", "ended", "wrapup"]
    assert full["events"][0] == {"at": "2026-11-26T08:00:00.123Z", "type": "queued", "data": None}
    assert full["events"][2]["data"] == {"auto": False}
    assert await store.get_session("f" * 32) is None

    with pytest.raises(StoreError) as info:
        await store.create_session(id=_sid(2), service_item_code="NOPE", caller={"name": "x"}, created_at=T0)
    assert info.value.code == "unknown_service_item"
    with pytest.raises(StoreError) as info:
        await store.create_session(id=_sid(1), service_item_code="SI-001", caller={"name": "x"}, created_at=T0)
    assert info.value.code == "duplicate_session"
    with pytest.raises(StoreError) as info:
        await store.update_session("f" * 32, event="x", at=T0, status="ended")
    assert info.value.code == "unknown_session"
    with pytest.raises(TypeError):
        await store.update_session(_sid(1), event="x", at=T0, wait_ms=5)
    with pytest.raises(StoreError):
        await store.update_session(_sid(1), event="x", at=T0, outcome="lost")


async def test_rating_once_only(catalog):
    store = catalog
    await store.create_session(id=_sid(1), service_item_code="SI-001", caller={"name": "a"}, created_at=T0)
    await store.rate_session(_sid(1), 4, "很快", T0 + timedelta(minutes=2))
    with pytest.raises(StoreError) as info:
        await store.rate_session(_sid(1), 5, None, T0 + timedelta(minutes=3))
    assert info.value.code == "already_rated" and str(info.value) != ""
    s = await store.get_session(_sid(1))
    assert s["satisfaction"] == 4 and s["events"][-1]["type"] == "rated"
    with pytest.raises(StoreError, match="satisfaction"):
        await store.rate_session(_sid(1), 6, None, T0)
    with pytest.raises(StoreError) as info:
        await store.rate_session("f" * 32, 3, None, T0)
    assert info.value.code == "unknown_session"


async def _session(store, n, code, created, *, specialist=None, answered=None, media=None,
                   ended=None, outcome=None, caller=None):
    """A session created at `created` with the other times given as seconds after it."""
    await store.create_session(id=_sid(n), service_item_code=code, caller=caller or {"name": f"c{n}"},
                               created_at=created)
    fields = {"specialist_id": specialist, "outcome": outcome}
    for key, offset in (("answered_at", answered), ("media_at", media), ("ended_at", ended)):
        if offset is not None:
            fields[key] = created + timedelta(seconds=offset)
    fields = {k: v for k, v in fields.items() if v is not None}
    if fields:
        fields["status"] = "ended" if ended is not None else "connected"
        await store.update_session(_sid(n), event="test", at=created, **fields)


async def test_list_sessions_filters_and_total(catalog):
    store = catalog
    a = await store.upsert_account("zhang.wei", "specialist", "password1")
    b = await store.upsert_account("li.na", "specialist", "password1")
    await _session(store, 1, "SI-001", T0, specialist=a["id"], answered=1, media=2, ended=60, outcome="answered")
    await _session(store, 2, "SI-001", T0 + timedelta(minutes=1), ended=5, outcome="abandoned")
    await _session(store, 3, "BR-002", T0 + timedelta(minutes=2), specialist=b["id"], answered=1, media=2,
                   ended=30, outcome="answered")
    await _session(store, 4, "BR-002", T0 + timedelta(minutes=3), specialist=a["id"], answered=1, ended=30,
                   outcome="failed")
    await _session(store, 5, "SI-001", T0 + timedelta(days=1))

    items, total = await store.list_sessions()
    assert total == 5 and [s["id"] for s in items] == [_sid(n) for n in (5, 4, 3, 2, 1)]
    items, total = await store.list_sessions(limit=2, offset=1)
    assert total == 5 and [s["id"] for s in items] == [_sid(4), _sid(3)]

    async def ids(**filters):
        found, count = await store.list_sessions(**filters)
        assert count == len(found)
        return sorted(int(s["id"], 16) for s in found)

    assert await ids(service_item="BR-002") == [3, 4]
    assert await ids(specialist=a["id"]) == [1, 4]
    assert await ids(specialist=str(a["id"])) == [1, 4]
    assert await ids(specialist="li.na") == [3]
    assert await ids(specialist="nobody") == []
    assert await ids(outcome="answered") == [1, 3]
    assert await ids(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)) == [2, 3]  # [since, until)
    assert await ids(since=T0.replace(tzinfo=timezone.utc) + timedelta(hours=1)) == [5]
    assert await ids(service_item="SI-001", specialist="zhang.wei", outcome="answered") == [1]


async def test_sessions_csv_export(catalog):
    store = catalog
    a = await store.upsert_account("zhang.wei", "specialist", "password1", display_name="张伟")
    await _session(store, 1, "SI-001", T0, specialist=a["id"], answered=1, media=1.5, ended=61.5,
                   outcome="answered", caller={"name": "王小明", "company": "=HYPERLINK(\"x\")", "phone": "+86 10 1234"})
    await _session(store, 2, "BR-002", T0 + timedelta(minutes=1), ended=3, outcome="abandoned")

    text_ = await store.iter_sessions_csv()
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert [r["id"] for r in rows] == [_sid(2), _sid(1)]
    first = rows[1]
    assert first["service_item_code"] == "SI-001" and first["service_item_name"] == "企业职工社会保险开户"
    assert first["caller_name"] == "王小明" and first["caller_phone"] == "+86 10 1234"
    assert first["caller_company"] == "'=HYPERLINK(\"x\")"  # neutralised for spreadsheets
    assert first["specialist_username"] == "zhang.wei" and first["specialist_display_name"] == "张伟"
    assert (first["wait_ms"], first["connect_ms"], first["talk_s"]) == ("1000", "1500", "60.0")
    assert first["created_at"] == "2026-11-26T08:00:00.000Z"
    assert rows[0]["specialist_username"] == "" and rows[0]["outcome"] == "abandoned"

    filtered = list(csv.DictReader(io.StringIO(await store.iter_sessions_csv(outcome="abandoned"))))
    assert [r["id"] for r in filtered] == [_sid(2)]
    empty = await store.iter_sessions_csv(service_item="NONE")
    assert empty.splitlines() == [empty.splitlines()[0]] and empty.startswith("id,status,outcome,")


async def test_metrics_hand_worked(catalog):
    store = catalog
    a = (await store.upsert_account("zhang.wei", "specialist", "password1", display_name="张伟"))["id"]
    b = (await store.upsert_account("li.na", "specialist", "password1", display_name="李娜"))["id"]
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    # n  item     created  specialist answered media  ended  outcome      wait  connect talk
    await _session(store, 1, "SI-001", at(0), specialist=a, answered=1.0, media=1.5, ended=61.5,
                   outcome="answered")   # 1000  1500  60
    await _session(store, 2, "SI-001", at(10), specialist=a, answered=1.8, media=2.5, ended=122.5,
                   outcome="answered")   # 1800  2500  120
    await _session(store, 3, "BR-002", at(20), specialist=b, answered=0.5, media=1.0, ended=31.0,
                   outcome="answered")   # 500   1000  30
    await _session(store, 4, "BR-002", at(30), ended=1.5, outcome="abandoned")    # left after 1.5 s
    await _session(store, 5, "SI-001", at(40), ended=10, outcome="abandoned")     # left after 10 s
    await _session(store, 6, "SI-001", at(50), ended=60, outcome="missed")
    await _session(store, 7, "BR-002", at(60), specialist=b, answered=3.0, ended=23.0,
                   outcome="failed")     # 3000  -     20 (from answer: no media)
    await _session(store, 8, "SI-001", T0 - timedelta(days=1), specialist=a, answered=0.1, media=0.1,
                   ended=10, outcome="answered")  # outside the range
    await _session(store, 9, "SI-001", at(70), ended=0.8, outcome="abandoned")    # left after 0.8 s
    await store.rate_session(_sid(1), 5, None, at(100))
    await store.rate_session(_sid(2), 3, None, at(200))

    m = await store.metrics(since=T0, until=T0 + timedelta(hours=1), threshold_s=2)
    assert (m["offered"], m["answered"], m["abandoned"], m["missed"]) == (8, 4, 3, 1)
    assert m["service_level"] == pytest.approx(2 / 4)             # sessions 1 and 3 within 2 s
    assert m["service_level_abandons"] == pytest.approx(4 / 7)    # (2 answered + 4 and 9) / (4 + 3)
    assert m["asa_ms"] == pytest.approx(1575.0)                   # (1000+1800+500+3000)/4
    assert m["aht_s"] == pytest.approx(57.5)                      # (60+120+30+20)/4
    assert m["abandonment_rate"] == pytest.approx(3 / 8)
    assert m["connect_ms"] == {"p50": 1500, "p90": 2500, "p99": 2500}  # of [1000, 1500, 2500]
    contract = lambda rows, keys: [{k: r[k] for k in keys} for r in rows]  # noqa: E731  (extra fields allowed)
    assert contract(m["by_service_item"], ("code", "name", "offered", "answered", "service_level", "asa_ms")) == [
        {"code": "BR-002", "name": "营业执照变更登记", "offered": 3, "answered": 2,
         "service_level": pytest.approx(0.5), "asa_ms": pytest.approx(1750.0)},
        {"code": "SI-001", "name": "企业职工社会保险开户", "offered": 5, "answered": 2,
         "service_level": pytest.approx(0.5), "asa_ms": pytest.approx(1400.0)},
    ]
    assert contract(m["by_specialist"], ("id", "display_name", "answered", "aht_s", "satisfaction")) == [
        {"id": a, "display_name": "张伟", "answered": 2, "aht_s": pytest.approx(90.0),
         "satisfaction": pytest.approx(4.0)},
        {"id": b, "display_name": "李娜", "answered": 2, "aht_s": pytest.approx(25.0),
         "satisfaction": None},  # scores: tests/unit/test_metrics.py
    ]

    looser = await store.metrics(since=T0, until=T0 + timedelta(hours=1), threshold_s=3)
    assert looser["service_level"] == pytest.approx(3 / 4)        # session 2 (2.5 s) now within
    assert (await store.metrics(since=None, until=None))["offered"] == 9
    empty = await store.metrics(since=T0 + timedelta(days=5), until=None)
    assert (empty["offered"], empty["service_level"], empty["asa_ms"], empty["abandonment_rate"]) == (0, None, None, None)
    assert empty["connect_ms"] == {"p50": None, "p90": None, "p99": None}


async def test_close_open_sessions(catalog):
    store = catalog
    a = (await store.upsert_account("zhang.wei", "specialist", "password1"))["id"]
    await _session(store, 1, "SI-001", T0)                                            # still queued
    await _session(store, 2, "SI-001", T0, specialist=a, answered=1)                  # answered, no media
    await _session(store, 3, "SI-001", T0, specialist=a, answered=1, media=2)         # talking
    await _session(store, 4, "SI-001", T0, specialist=a, answered=1, media=2, ended=9, outcome="answered")
    now = T0 + timedelta(seconds=62)
    alive_at = T0 + timedelta(seconds=60)  # the crashed run was last known alive 2 s before the restart
    assert await store.close_open_sessions(now, alive_at=alive_at) == 3
    assert await store.close_open_sessions(now) == 0

    got = {n: await store.get_session(_sid(n)) for n in (1, 2, 3, 4)}
    # The server's own fault: never the caller's abandonment (store/outcomes.py).
    assert [got[n]["outcome"] for n in (1, 2, 3, 4)] == ["failed", "failed", "answered", "answered"]
    for n in (1, 2, 3):
        s = got[n]
        assert (s["status"], s["end_reason"], s["ended_by"]) == ("ended", "server_restart", "system")
        assert s["ended_at"] == "2026-11-26T08:01:00.000Z"  # the last activity known, not the restart
        assert s["events"][-1]["type"] == "ended"
    assert (got[2]["talk_s"], got[3]["talk_s"]) == (59.0, 58.0)
    assert got[4]["end_reason"] is None and got[4]["talk_s"] == 7.0


# ---- demo ---------------------------------------------------------------


def test_demo_data_is_consistent():
    assert len(DEMO_SERVICE_ITEMS) >= 36
    codes = [i["code"] for i in DEMO_SERVICE_ITEMS]
    assert len(set(codes)) == len(codes)
    categories = {i["category"] for i in DEMO_SERVICE_ITEMS}
    assert categories == {"social_insurance", "medical_insurance", "tax", "business_registration",
                          "identity_documents", "employment", "financing", "legal_aid"}
    names = {i["name_en"] for i in DEMO_SERVICE_ITEMS}
    assert {"Open employee social insurance accounts", "Change a business license"} <= names
    demo = next(a for a in DEMO_ACCOUNTS if a["username"] == "demo")
    assert set(demo["skills"]) == {f"category:{c}" for c in categories}
    for account in DEMO_ACCOUNTS:
        for skill in account["skills"]:
            assert skill.removeprefix("category:") in categories | set(codes)


async def test_demo_loads_once(store):
    assert await load_demo(store) is True
    assert await store.count_service_items() >= 30
    assert await store.count_accounts() == len(DEMO_ACCOUNTS)
    assert (await store.authenticate("admin", "admin123"))["role"] == "admin"
    assert (await store.authenticate("demo", "demo123"))["role"] == "specialist"
    assert await load_demo(store) is False
    assert await store.count_accounts() == len(DEMO_ACCOUNTS)
