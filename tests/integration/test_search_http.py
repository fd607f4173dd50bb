"""The catalog search through the real server's HTTP API: GET /api/service-items?q=, and the
admin's import and item edit reaching it at once."""

from __future__ import annotations

import aiohttp

HEADER = "code,name,name_en,category,department,level,difficulty,department_en,keywords"


async def _get(http, server, q):
    async with http.get(server.url + "/api/service-items", params={"q": q}) as r:
        assert r.status == 200
        return (await r.json())["items"]


async def test_search_by_short_name_pinyin_english_and_typo(server):
    social = {f"SI-00{i}" for i in range(1, 6)}
    medical = {f"MI-00{i}" for i in range(1, 6)}
    async with aiohttp.ClientSession() as http:
        for q, expected in [("社保", social), ("shebao", social), ("sb", social), ("social security", social),
                            ("医保", medical), ("yibao", medical), ("medical insurance", medical)]:
            found = await _get(http, server, q)
            assert {i["code"] for i in found[:5]} == expected, q
            scores = [i["score"] for i in found]
            assert scores == sorted(scores, reverse=True), q
        for q in ("licence", "busines licence", "营业执照", "yingyezhizhao"):
            assert (await _get(http, server, q))[0]["code"] == "BR-002", q
        exact = (await _get(http, server, "营业执照变更登记"))[0]
        assert exact["code"] == "BR-002" and exact["score"] == 100 and exact["matched"] == "name"
        assert await _get(http, server, "zzzz-nothing") == []
        whole = await _get(http, server, "")
        assert len(whole) == 40 and "score" not in whole[0]
        async with http.get(server.url + "/api/service-items", params={"q": "x" * 101}) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "too_long"


async def test_imported_keywords_and_retiring_reach_the_search_at_once(server):
    admin = await server.token("admin", "admin123")
    auth = {"Authorization": f"Bearer {admin}"}
    csv = (HEADER + "\nHF-001,住房公积金缴存登记,Register for the housing provident fund,social_insurance,"
           "住房公积金管理中心,district,2,Housing Provident Fund Management Centre,\"公积金, housing fund\"\n")
    async with aiohttp.ClientSession() as http:
        assert await _get(http, server, "公积金") == []
        async with http.post(server.url + "/api/admin/service-items/import", data=csv.encode(),
                             headers={**auth, "Content-Type": "text/csv"}) as r:
            assert r.status == 200, await r.text()
        for q in ("公积金", "gjj", "housing fund", "housing fund center"):
            assert (await _get(http, server, q))[0]["code"] == "HF-001", q
        # a bad row: reported by its line, nothing imported
        bad = csv.replace("HF-001", "HF-002") + "HF-003,x,x,social_insurance,d,nowhere,2,,\n"
        async with http.post(server.url + "/api/admin/service-items/import", data=bad.encode(),
                             headers={**auth, "Content-Type": "text/csv"}) as r:
            body = await r.json()
            assert r.status == 400 and body["error"]["message"].startswith("line 3: "), body
        assert "HF-002" not in {i["code"] for i in await _get(http, server, "公积金")}
        item = next(i for i in await _get(http, server, "HF-001"))
        editable = {k: item[k] for k in ("name", "name_en", "category", "department", "level", "difficulty",
                                         "department_en", "keywords")}
        async with http.put(server.url + "/api/admin/service-items/HF-001", json={**editable, "retired": True},
                            headers=auth) as r:
            assert r.status == 200, await r.text()
        assert await _get(http, server, "公积金") == []
        async with http.get(server.url + "/api/admin/service-items", params={"q": "公积金"}, headers=auth) as r:
            assert [i["code"] for i in (await r.json())["items"]][:1] == ["HF-001"]  # the admin still sees it
