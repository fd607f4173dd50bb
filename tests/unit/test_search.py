"""The catalog search index (signaling/store/search.py): each kind of query a caller types."""

from __future__ import annotations

import pytest

from signaling.store.search import CatalogIndex, normalize, split_keywords


def _item(code, name, name_en, category, department, keywords="", **extra):
    return {"code": code, "name": name, "name_en": name_en, "category": category, "department": department,
            "level": "district", "difficulty": 2, "keywords": keywords, "retired": False, **extra}


_SI = ("social_insurance", "人力资源和社会保障局")
_MI = ("medical_insurance", "医疗保障局")
SI_KW = "社保, 社会保险, social security"
MI_KW = "医保, 医疗保险, medical insurance, health insurance"

# Five medical-insurance items: only one has 医保 in its name, the others are found by their keywords.
CATALOG = [
    _item("SI-001", "企业职工社会保险开户", "Open employee social insurance accounts", *_SI, SI_KW),
    _item("SI-002", "职工参保登记与增减员", "Enrol or remove employees from social insurance", *_SI, SI_KW),
    _item("SI-003", "社会保险缴费基数申报", "Declare the social insurance contribution base", *_SI, SI_KW),
    _item("MI-001", "单位医疗保险参保登记", "Register an employer for medical insurance", *_MI, MI_KW),
    _item("MI-002", "异地就医备案", "File for medical treatment in another city", *_MI, MI_KW),
    _item("MI-003", "生育保险待遇申领", "Claim maternity insurance benefits", *_MI, MI_KW),
    _item("MI-004", "医疗费用零星报销", "Reimburse out-of-pocket medical expenses", *_MI, MI_KW),
    _item("MI-005", "医保定点机构申请", "Apply to become a designated medical insurance provider", *_MI, MI_KW),
    _item("BR-001", "企业设立登记", "Register a new company", "business_registration", "市场监督管理局",
          "开公司, 公司注册, company registration"),
    _item("BR-002", "营业执照变更登记", "Change a business license", "business_registration", "市场监督管理局",
          "营业执照, 执照变更; business licence"),
    _item("HF-001", "住房公积金缴存登记", "Register for the housing provident fund", "housing_fund",
          "住房公积金管理中心", "公积金, housing fund", department_en="Housing Provident Fund Management Centre"),
    _item("TX-002", "增值税发票领用", "Obtain VAT invoices", "tax", "税务局", "发票, 增值税, invoice, tax"),
]
SI = {"SI-001", "SI-002", "SI-003"}
MI = {"MI-001", "MI-002", "MI-003", "MI-004", "MI-005"}


@pytest.fixture(scope="module")
def index():
    idx = CatalogIndex()
    idx.refresh(CATALOG)
    return idx


def codes(index, q, **kwargs):
    return [item["code"] for item in index.search(q, **kwargs)]


def top(index, q, n):
    return set(codes(index, q)[:n])


# ---- each kind of query -------------------------------------------------------


def test_chinese_abbreviation_finds_the_social_insurance_items(index):
    assert top(index, "社保", 3) == SI


def test_short_name_finds_all_five_medical_insurance_items(index):
    assert top(index, "医保", 5) == MI


def test_abbreviation_without_keywords_matches_the_characters_in_order():
    bare = CatalogIndex()
    bare.refresh([{**item, "keywords": ""} for item in CATALOG])
    # 社…保 in 社会保险, with at most two characters between them
    assert set(codes(bare, "社保")) >= {"SI-001", "SI-003"}
    assert set(codes(bare, "社保开户")) == {"SI-001"}
    assert "MI-001" in codes(bare, "医保")  # 医疗保险


def test_pinyin_and_its_initials(index):
    assert top(index, "shebao", 3) == SI
    assert top(index, "sb", 3) == SI
    assert top(index, "yibao", 5) == MI
    assert top(index, "yb", 5) == MI
    assert codes(index, "gongjijin")[0] == "HF-001"
    assert codes(index, "gjj")[0] == "HF-001"
    assert codes(index, "yingyezhizhao")[0] == "BR-002"
    assert codes(index, "She Bao")[:3] == codes(index, "shebao")[:3]  # spaces and case do not matter


def test_pinyin_of_the_name(index):
    assert codes(index, "kaihu") == ["SI-001"]  # 开户: consecutive syllables of the name
    assert codes(index, "zhgshbx")[0] == "SI-001"  # initials of 职工社会保险, zh as one


def test_english_synonym_and_both_spellings(index):
    assert top(index, "social security", 3) == SI
    assert codes(index, "licence")[0] == "BR-002"
    assert codes(index, "license")[0] == "BR-002"
    assert codes(index, "business licence")[0] == "BR-002"
    assert codes(index, "housing fund centre")[0] == "HF-001"  # department_en says Centre, folded to center
    assert normalize("Licence CENTRE organisation") == "license center organization"


def test_typos(index):
    assert codes(index, "busines licence")[0] == "BR-002"
    assert codes(index, "lisence")[0] == "BR-002"
    assert top(index, "medicla insurance", 5) == MI
    assert codes(index, "营业执造")[0] == "BR-002"  # one character off
    assert top(index, "社报", 3) == SI  # a homophone from the input method
    assert top(index, "shebap", 3) == SI  # pinyin with a slip


def test_english_and_chinese_find_the_same_item(index):
    assert codes(index, "住房公积金")[0] == codes(index, "housing provident fund")[0] == "HF-001"
    assert codes(index, "发票")[0] == codes(index, "invoice")[0] == "TX-002"
    assert codes(index, "社保 开户")[0] == "SI-001"  # several words: all of them count


def test_code(index):
    assert codes(index, "MI-004") == ["MI-004"]
    assert codes(index, "mi004") == ["MI-004"]
    assert set(codes(index, "mi-00")) == MI


def test_no_match(index):
    assert codes(index, "100%") == []
    assert codes(index, "zzzz") == []
    assert codes(index, "火箭发射") == []


# ---- ranking --------------------------------------------------------------------


def test_the_exact_name_ranks_first(index):
    found = index.search("社会保险缴费基数申报")
    assert found[0]["code"] == "SI-003" and found[0]["score"] == 100 and found[0]["matched"] == "name"
    assert codes(index, "Change a business license")[0] == "BR-002"
    assert codes(index, "医保定点机构申请")[0] == "MI-005"


def test_results_are_ordered_by_score_and_carry_it(index):
    found = index.search("insurance")
    scores = [item["score"] for item in found]
    assert scores == sorted(scores, reverse=True) and all(50 <= s <= 100 for s in scores)
    assert {"code", "name", "name_en", "keywords", "score", "matched"} <= set(found[0])
    # a name that says it outranks a department that only sounds like it
    hits = index.search("医保")
    assert hits[0]["matched"] == "keywords"


def test_limit(index):
    assert len(index.search("insurance", limit=2)) == 2
    assert len(index.search("", limit=3)) == 3


# ---- the catalog it is built from -----------------------------------------------------


def test_empty_query_lists_the_catalog_by_category_and_code(index):
    listed = codes(index, "")
    assert listed == [i["code"] for i in sorted(CATALOG, key=lambda i: (i["category"], i["code"]))]
    assert codes(index, None) == codes(index, "   ") == codes(index, "!!") == listed
    assert "score" not in index.search("")[0]


def test_retired_items_are_left_out():
    idx = CatalogIndex()
    idx.refresh([{**item, "retired": item["code"] == "SI-002"} for item in CATALOG])
    assert "SI-002" not in codes(idx, "社保") and "SI-002" not in codes(idx, "")
    assert "SI-002" in codes(idx, "社保", include_retired=True)


def test_refresh_rebuilds_only_on_change():
    idx = CatalogIndex()
    assert idx.refresh(CATALOG, 1) and idx.version == 1
    assert not idx.refresh([dict(i) for i in reversed(CATALOG)], 2) and idx.version == 2  # same catalog
    assert codes(idx, "养老") == []
    changed = [*CATALOG, _item("SI-004", "养老保险关系转移接续", "Transfer pension insurance", *_SI, "养老, pension")]
    assert idx.refresh(changed, 3)
    assert codes(idx, "养老")[0] == "SI-004" and codes(idx, "pension")[0] == "SI-004"


def test_the_search_does_not_hand_out_its_own_dicts(index):
    index.search("")[0]["name"] = "changed"
    index.search("社保")[0]["name"] = "changed"
    assert "changed" not in {i["name"] for i in index.search("")}


def test_split_keywords():
    assert split_keywords("社保, 社会保险；social security、医保\nyibao;") == [
        "社保", "社会保险", "social security", "医保", "yibao"]
    assert split_keywords("  ") == [] and split_keywords(None) == []


def test_long_and_odd_queries_stay_bounded(index):
    # an abbreviation pattern over a repetitive catalog must not backtrack for ever
    idx = CatalogIndex()
    idx.refresh([_item("X-1", "啊" * 40 + "阿爸", "a" * 50, "x", "啊啊啊")])
    assert codes(idx, "a" * 11 + "b")  # a a … ba: found, quickly
    assert codes(idx, "x" * 100) == []
    assert isinstance(codes(index, "社保 " * 30), list)
