"""Demo catalog and accounts for `serve --demo` on an empty database."""

from __future__ import annotations

from .categories import name_missing_categories

_HR = ("人力资源和社会保障局", "Human Resources and Social Security Bureau")
_SI = ("social_insurance", *_HR)
_MI = ("medical_insurance", "医疗保障局", "Healthcare Security Bureau")
_TX = ("tax", "税务局", "Tax Bureau")
_BR = ("business_registration", "市场监督管理局", "Administration for Market Regulation")
_ID = ("identity_documents", "公安局", "Public Security Bureau")
_EM = ("employment", *_HR)
_FN = ("financing", "地方金融监督管理局", "Local Financial Supervision Bureau")
_LA = ("legal_aid", "司法局", "Justice Bureau")

# The categories' display names (table `categories`): code -> (Chinese, English).
DEMO_CATEGORIES: dict[str, tuple[str, str]] = {
    "social_insurance": ("社会保险", "Social insurance"),
    "medical_insurance": ("医疗保险", "Medical insurance"),
    "tax": ("税务", "Tax"),
    "business_registration": ("企业登记", "Business registration"),
    "identity_documents": ("证照与户籍", "Identity documents and residence"),
    "employment": ("就业创业", "Employment"),
    "financing": ("企业融资", "Business financing"),
    "legal_aid": ("法律服务", "Legal services"),
}

# (code, name, name_en, (category, department, department_en), level, difficulty)
_ITEMS = [
    ("SI-001", "企业职工社会保险开户", "Open employee social insurance accounts", _SI, "district", 2),
    ("SI-002", "职工参保登记与增减员", "Enrol or remove employees from social insurance", _SI, "district", 1),
    ("SI-003", "社会保险缴费基数申报", "Declare the social insurance contribution base", _SI, "district", 3),
    ("SI-004", "养老保险关系转移接续", "Transfer pension insurance between regions", _SI, "municipal", 4),
    ("SI-005", "工伤保险待遇申领", "Claim work-injury insurance benefits", _SI, "municipal", 4),
    ("MI-001", "单位医疗保险参保登记", "Register an employer for medical insurance", _MI, "district", 2),
    ("MI-002", "异地就医备案", "File for medical treatment in another city", _MI, "municipal", 2),
    ("MI-003", "生育保险待遇申领", "Claim maternity insurance benefits", _MI, "district", 3),
    ("MI-004", "医疗费用零星报销", "Reimburse out-of-pocket medical expenses", _MI, "district", 3),
    ("MI-005", "医保定点机构申请", "Apply to become a designated medical insurance provider", _MI, "municipal", 5),
    ("TX-001", "新办纳税人套餐式服务", "Tax set-up package for a newly registered business", _TX, "district", 2),
    ("TX-002", "增值税发票领用", "Obtain VAT invoices", _TX, "district", 2),
    ("TX-003", "一般纳税人资格登记", "Register as a general VAT taxpayer", _TX, "district", 3),
    ("TX-004", "企业所得税汇算清缴咨询", "Corporate income tax annual reconciliation", _TX, "municipal", 4),
    ("TX-005", "出口退税备案", "File for export tax refunds", _TX, "municipal", 5),
    ("BR-001", "企业设立登记", "Register a new company", _BR, "district", 3),
    ("BR-002", "营业执照变更登记", "Change a business license", _BR, "district", 2),
    ("BR-003", "企业注销登记", "Deregister a company", _BR, "district", 4),
    ("BR-004", "个体工商户登记", "Register an individual business", _BR, "district", 1),
    ("BR-005", "企业年度报告公示", "File the annual corporate report", _BR, "municipal", 1),
    ("ID-001", "外国人工作许可办理", "Apply for a foreigner's work permit", _ID, "municipal", 4),
    ("ID-002", "居住证办理", "Apply for a residence permit", _ID, "district", 2),
    ("ID-003", "企业公章刻制备案", "Register an official company seal", _ID, "district", 1),
    ("ID-004", "户籍迁入（人才引进）", "Household registration for recruited talent", _ID, "municipal", 3),
    ("ID-005", "出入境证件办理咨询", "Exit-entry document applications", _ID, "municipal", 2),
    ("EM-001", "就业登记与失业登记", "Employment and unemployment registration", _EM, "district", 1),
    ("EM-002", "创业担保贷款贴息申请", "Apply for start-up guaranteed loan interest subsidies", _EM, "district", 3),
    ("EM-003", "企业吸纳就业补贴申领", "Claim hiring subsidies for employers", _EM, "district", 3),
    ("EM-004", "职业技能培训补贴申领", "Claim vocational training subsidies", _EM, "municipal", 2),
    ("EM-005", "高校毕业生就业见习基地申报", "Register a graduate internship base", _EM, "municipal", 3),
    ("FN-001", "中小微企业融资对接", "Match small businesses with lenders", _FN, "municipal", 3),
    ("FN-002", "政府性融资担保申请", "Apply for a government financing guarantee", _FN, "municipal", 4),
    ("FN-003", "应急转贷资金申请", "Apply for emergency bridge-loan funds", _FN, "municipal", 4),
    ("FN-004", "知识产权质押融资", "Intellectual property pledge financing", _FN, "municipal", 5),
    ("FN-005", "普惠金融政策咨询", "Inclusive finance policy consultation", _FN, "district", 2),
    ("LA-001", "法律援助申请", "Apply for legal aid", _LA, "district", 2),
    ("LA-002", "劳动争议调解咨询", "Labour dispute mediation advice", _LA, "district", 3),
    ("LA-003", "企业合规法律咨询", "Corporate compliance legal advice", _LA, "municipal", 4),
    ("LA-004", "公证事项办理咨询", "Notarisation services", _LA, "municipal", 2),
    ("LA-005", "农民工欠薪法律援助", "Legal aid for unpaid migrant wages", _LA, "district", 3),
]

# What callers type instead of the name (service_items.keywords, store/search.py): the short
# forms people use (社保, 医保), other words for the matter, and English synonyms.
_KEYWORDS = {
    "SI-001": "社保, 社保开户, 单位社保, 五险, social security, employer social insurance registration",
    "SI-002": "社保, 参保, 社保增减员, 增员, 减员, social security, enrol employees, add or remove staff",
    "SI-003": "社保, 社保基数, 缴费基数, social security, contribution base",
    "SI-004": "社保, 社保转移, 养老保险, 养老金, social security, pension transfer",
    "SI-005": "社保, 工伤, 工伤赔偿, social security, work injury, workers' compensation",
    "MI-001": "医保, 医保参保, 医保登记, medical insurance, health insurance",
    "MI-002": "医保, 异地就医, 医保备案, medical insurance, health insurance, treatment elsewhere",
    "MI-003": "医保, 生育险, 生育津贴, medical insurance, maternity benefit",
    "MI-004": "医保, 医保报销, 报销, medical insurance, health insurance, reimbursement, medical bills",
    "MI-005": "医保, 定点医院, 定点药店, medical insurance, designated hospital, pharmacy",
    "TX-001": "税务, 新办企业, 税务登记, 报税, tax, tax registration, new business",
    "TX-002": "税务, 发票, 领票, 专票, tax, invoice, fapiao",
    "TX-003": "税务, 一般纳税人, tax, general taxpayer, VAT",
    "TX-004": "税务, 汇算清缴, 所得税, 企业所得税, tax, income tax, tax return",
    "TX-005": "税务, 退税, 出口退税, tax, tax refund, export rebate",
    "BR-001": "开公司, 注册公司, 公司注册, 工商注册, 设立登记, company registration, incorporate, start a company",
    "BR-002": "营业执照, 执照变更, 工商变更, 变更登记, business licence, business license change",
    "BR-003": "注销, 公司注销, 工商注销, close a company, deregistration, dissolve",
    "BR-004": "个体户, 个体工商户, sole proprietor, self-employed",
    "BR-005": "年报, 企业年报, 工商年报, annual report, annual return",
    "ID-001": "工作许可, 外国人工作证, 来华工作, work permit, foreign worker",
    "ID-002": "居住证, 暂住证, residence permit, residence card",
    "ID-003": "刻章, 公章, 印章, company seal, company stamp, chop",
    "ID-004": "落户, 户口, 人才落户, 户口迁入, hukou, household registration, talent",
    "ID-005": "出入境, 护照, 港澳通行证, 签证, passport, visa, exit-entry permit",
    "EM-001": "就业登记, 失业登记, 失业金, 失业, employment registration, unemployment benefit",
    "EM-002": "创业贷, 创业贷款, 贴息, start-up loan, business loan",
    "EM-003": "就业补贴, 招工补贴, 稳岗, hiring subsidy, employment subsidy",
    "EM-004": "培训补贴, 技能补贴, 职业培训, training subsidy, skills training",
    "EM-005": "见习基地, 毕业生见习, 实习基地, graduate internship, traineeship",
    "FN-001": "融资, 贷款, 银企对接, 小微企业, loan, financing, small business",
    "FN-002": "融资担保, 担保, loan guarantee, financing guarantee",
    "FN-003": "转贷, 过桥资金, 应急转贷, bridge loan, emergency loan",
    "FN-004": "知识产权, 专利质押, 商标质押, IP financing, patent pledge",
    "FN-005": "普惠金融, 金融政策, inclusive finance, microfinance",
    "LA-001": "法援, 法律援助, 法律咨询, legal aid, free lawyer",
    "LA-002": "劳动仲裁, 劳动纠纷, 劳动争议, labour dispute, labour arbitration, employment dispute",
    "LA-003": "合规, 企业合规, compliance, legal advice",
    "LA-004": "公证, 公证处, notary, notarisation",
    "LA-005": "欠薪, 讨薪, 工资拖欠, 农民工工资, unpaid wages, wage arrears",
}

DEMO_SERVICE_ITEMS: list[dict] = [
    {"code": code, "name": name, "name_en": name_en, "category": cat, "department": dept,
     "department_en": dept_en, "level": level, "difficulty": difficulty, "keywords": _KEYWORDS.get(code, "")}
    for code, name, name_en, (cat, dept, dept_en), level, difficulty in _ITEMS
]

_CATEGORIES = sorted({item["category"] for item in DEMO_SERVICE_ITEMS})

DEMO_ACCOUNTS: list[dict] = [
    {"username": "admin", "password": "admin123", "role": "admin", "display_name": "系统管理员", "skills": []},
    {"username": "zhang.wei", "password": "demo123", "role": "specialist", "display_name": "张伟",
     "skills": ["category:social_insurance", "category:medical_insurance"]},
    {"username": "li.na", "password": "demo123", "role": "specialist", "display_name": "李娜",
     "skills": ["category:tax", "category:business_registration"]},
    {"username": "wang.fang", "password": "demo123", "role": "specialist", "display_name": "王芳",
     "skills": ["category:business_registration", "category:financing", "TX-001"]},
    {"username": "liu.yang", "password": "demo123", "role": "specialist", "display_name": "刘洋",
     "skills": ["category:identity_documents", "category:employment", "category:legal_aid"]},
    {"username": "chen.jing", "password": "demo123", "role": "specialist", "display_name": "陈静",
     "skills": ["category:social_insurance", "category:employment", "MI-002"]},
    {"username": "demo", "password": "demo123", "role": "specialist", "display_name": "演示坐席",
     "skills": [f"category:{c}" for c in _CATEGORIES]},
]

DEMO_LOGIN_HINT = """\
Demo data loaded. Log in with:
  administrator:  admin / admin123          (open /admin)
  specialist:     demo / demo123            (open /console; skilled for every category)
  more specialists: zhang.wei, li.na, wang.fang, liu.yang, chen.jing (password demo123)
Callers need no login: open / and pick a service item."""


async def load_demo(store) -> bool:
    """Load the demo catalog and accounts into an empty database; True if it did. The demo's
    categories get their display names whenever items use them and they have none yet."""
    loaded = not (await store.count_service_items() or await store.count_accounts())
    if loaded:
        await store.import_service_items(DEMO_SERVICE_ITEMS)
        for account in DEMO_ACCOUNTS:
            await store.upsert_account(
                account["username"], account["role"], account["password"],
                display_name=account["display_name"], skills=account["skills"],
                check_password=False,  # the demo's published passwords are shorter than the minimum
            )
    await name_missing_categories(store, DEMO_CATEGORIES)
    return loaded
