"""The store's catalog search and the keywords it learns from the import, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from signaling.store import CatalogError, Store, load_catalog_file
from signaling.store.categories import save_category
from signaling.store.demo import DEMO_SERVICE_ITEMS
from signaling.store.models import ServiceItem


@pytest.fixture
def store(empty_store):
    return empty_store


@pytest.fixture
async def demo(store):
    await store.import_service_items(DEMO_SERVICE_ITEMS)
    return store


async def codes(store, q, **kwargs):
    return [item["code"] for item in await store.search_service_items(q, **kwargs)]


async def test_demo_catalog_is_found_by_short_names_pinyin_and_english(demo):
    social = {f"SI-00{i}" for i in range(1, 6)}
    medical = {f"MI-00{i}" for i in range(1, 6)}
    assert set((await codes(demo, "社保"))[:5]) == social
    assert set((await codes(demo, "医保"))[:5]) == medical  # only MI-005 has 医保 in its name
    assert set((await codes(demo, "shebao"))[:5]) == social
    assert set((await codes(demo, "sb"))[:5]) == social
    assert set((await codes(demo, "yibao"))[:5]) == medical
    assert set((await codes(demo, "social security"))[:5]) == social
    assert (await codes(demo, "licence"))[0] == "BR-002"
    assert (await codes(demo, "busines licence"))[0] == "BR-002"
    assert (await codes(demo, "营业执照"))[0] == "BR-002"
    found = (await demo.search_service_items("医保"))[0]
    assert found["matched"] == "keywords" and 50 <= found["score"] <= 100 and "医保" in found["keywords"]


async def test_empty_query_lists_the_catalog_as_before(demo):
    listed = await demo.search_service_items()
    assert [i["code"] for i in listed] == [i["code"] for i in sorted(
        DEMO_SERVICE_ITEMS, key=lambda i: (i["category"], i["code"]))]
    assert "score" not in listed[0] and listed[0]["keywords"]


async def test_retired_items_are_not_returned_to_callers(demo):
    await demo.import_service_items([{**DEMO_SERVICE_ITEMS[0], "retired": True}])  # SI-001
    assert "SI-001" not in await codes(demo, "社保")
    assert "SI-001" not in await codes(demo, "")
    assert "SI-001" not in await codes(demo, "SI-001")
    assert "SI-001" in await codes(demo, "社保", include_retired=True)  # the administrators' catalog
    await demo.import_service_items([{**DEMO_SERVICE_ITEMS[0], "retired": False}])
    assert "SI-001" in await codes(demo, "社保")


async def test_the_index_follows_every_kind_of_catalog_write(demo):
    assert await codes(demo, "公积金") == []
    item = {**DEMO_SERVICE_ITEMS[0], "code": "HF-001", "name": "住房公积金缴存登记",
            "name_en": "Register for the housing provident fund", "keywords": "公积金, housing fund"}
    await demo.import_service_items([item])  # a new item
    assert (await codes(demo, "公积金"))[0] == "HF-001"
    assert (await codes(demo, "gjj"))[0] == "HF-001"
    await demo.import_service_items([{**item, "keywords": "公积金, 住房基金"}])  # an edit
    found = (await demo.search_service_items("住房基金"))[0]
    assert found["code"] == "HF-001" and found["keywords"] == "公积金, 住房基金"
    async with demo._db() as db, db.begin():  # a bulk statement, as an admin function may write
        await db.execute(update(ServiceItem).where(ServiceItem.code == "HF-001").values(retired=True))
    assert await codes(demo, "公积金") == []
    await save_category(demo, "tax", {"name": "纳税服务", "name_en": "Paying taxes"})  # a category's names
    assert "TX-002" in await codes(demo, "paying taxes")


async def test_an_import_from_another_process_is_seen_at_the_next_catalog_read(demo, database):
    url, kwargs = database
    other = Store(url, engine_kwargs=kwargs)  # e.g. `python -m signaling catalog import`
    await other.open()
    try:
        await other.import_service_items([{**DEMO_SERVICE_ITEMS[1], "keywords": "增减员, 员工入职"}])
    finally:
        await other.close()
    await demo.all_service_items()  # the engine's periodic reload
    assert (await codes(demo, "员工入职"))[0] == "SI-002"


# ---- keywords in the catalog import --------------------------------------------------

HEADER = "code,name,name_en,category,department,level,difficulty"


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


async def test_csv_import_with_keywords_and_department_en(store, tmp_path):
    path = _write(tmp_path / "c.csv", HEADER + ",department_en,keywords\n"
                  'SI-001,企业职工社会保险开户,Open accounts,social_insurance,人社局,district,2,HR bureau,"社保; 五险 social security"\n'
                  "BR-002,营业执照变更登记,Change a business license,business_registration,市监局,district,2,,\n")
    items = load_catalog_file(path)
    assert items[0]["keywords"] == "社保; 五险 social security" and items[0]["department_en"] == "HR bureau"
    assert items[1]["keywords"] == ""
    assert await store.import_service_items(items) == 2
    assert (await store.get_service_item("SI-001"))["keywords"] == "社保; 五险 social security"
    assert await codes(store, "五险") == ["SI-001"]
    assert await codes(store, "社保") == ["SI-001"]
    # the same file again changes nothing; a file without the column keeps the keywords
    assert await store.import_service_items(load_catalog_file(path)) == 2
    plain = _write(tmp_path / "p.csv", HEADER + "\nSI-001,企业职工社会保险开户,Open,social_insurance,人社局,district,2\n")
    await store.import_service_items(load_catalog_file(plain))
    assert (await store.get_service_item("SI-001"))["keywords"] == "社保; 五险 social security"
    assert await store.count_service_items() == 2


async def test_json_import_with_keywords_as_text_or_list(store, tmp_path):
    base = {"name_en": "x", "category": "c", "department": "d", "level": "district", "difficulty": 1}
    path = _write(tmp_path / "c.json", json.dumps([
        {**base, "code": "A-1", "name": "社会保险开户", "keywords": "社保, social security"},
        {**base, "code": "A-2", "name": "医疗保险登记", "keywords": ["医保", " medical insurance "]},
    ], ensure_ascii=False))
    await store.import_service_items(load_catalog_file(path))
    assert (await store.get_service_item("A-2"))["keywords"] == "医保, medical insurance"
    assert await codes(store, "medical insurance") == ["A-2"]
    assert await codes(store, "social security") == ["A-1"]


@pytest.mark.parametrize("body, line, message", [
    ("A-1,a,b,c,d,district,2,ok\nA-2,a,b,c,d,district,2," + "k" * 2001 + "\n", 3, "keywords is longer than 2000 characters"),
    ("A-1,a,b,c,d,district,2,ok\nA-2,a,b,c,d,district,2\n", 3, "expected 8 fields, found 7"),
])
async def test_a_bad_row_names_its_line_and_imports_nothing(store, tmp_path, body, line, message):
    with pytest.raises(CatalogError) as info:
        items = load_catalog_file(_write(tmp_path / "c.csv", HEADER + ",keywords\n" + body))
        await store.import_service_items(items)
    assert (info.value.line, info.value.message) == (line, message)
    assert await store.count_service_items() == 0


async def test_bad_keywords_in_json_and_unknown_columns(store, tmp_path):
    base = {"code": "A-1", "name": "n", "name_en": "x", "category": "c", "department": "d",
            "level": "district", "difficulty": 1}
    with pytest.raises(CatalogError, match="^line 2: keywords must be text$"):
        load_catalog_file(_write(tmp_path / "c.json", json.dumps([base, {**base, "code": "A-2", "keywords": 5}])))
    with pytest.raises(CatalogError, match="^line 1: header must be"):
        load_catalog_file(_write(tmp_path / "c.csv", HEADER + ",synonyms\nA-1,a,b,c,d,district,2,x\n"))
    with pytest.raises(CatalogError, match="^line 2: keywords must be text$"):
        await store.import_service_items([{**base, "keywords": "ok"}, {**base, "code": "A-2", "keywords": {"a": 1}}])
    assert await store.count_service_items() == 0
