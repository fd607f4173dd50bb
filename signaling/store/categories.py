"""Display names of the catalog's category codes (table `categories`, migration 0012).

A service item carries its category as a code (`business_registration`); this table
names it in both languages. A code used by items but missing here is listed with
its code as its names, so administrators see every category they can name.
"""

from __future__ import annotations

from sqlalchemy import case, func, select

from .catalog import validate_category
from .models import Category, ServiceItem


async def list_categories(store) -> list[dict]:
    """Every category named or used by an item: `{code, name, name_en, named, items, retired_items}`."""
    async with store._db() as db:
        named = {c.code: c for c in (await db.scalars(select(Category))).all()}
        used = {code: (count, retired or 0) for code, count, retired in await db.execute(
            select(ServiceItem.category, func.count(), func.sum(case((ServiceItem.retired, 1), else_=0)))
            .group_by(ServiceItem.category)
        )}
    out = []
    for code in sorted(named.keys() | used.keys()):
        row = named.get(code)
        count, retired = used.get(code, (0, 0))
        out.append({
            "code": code, "name": row.name if row else code, "name_en": (row.name_en if row else "") or "",
            "named": row is not None, "items": count, "retired_items": int(retired),
        })
    return out


async def save_category(store, code: str, raw: dict) -> dict:
    """Create or rename a category; raises CatalogError on bad input."""
    clean = validate_category(raw, code)
    async with store._db() as db, db.begin():
        row = await db.get(Category, clean["code"])
        if row is None:
            db.add(Category(**clean))
        else:
            row.name, row.name_en = clean["name"], clean["name_en"]
    return next(c for c in await list_categories(store) if c["code"] == clean["code"])


async def name_missing_categories(store, names: dict[str, tuple[str, str]]) -> int:
    """Give display names to the categories in `names` that items use and that have none yet
    (the demo's); the count added."""
    async with store._db() as db, db.begin():
        have = set((await db.scalars(select(Category.code))).all())
        used = set((await db.scalars(select(ServiceItem.category).distinct())).all())
        missing = [code for code in names if code in used and code not in have]
        for code in missing:
            name, name_en = names[code]
            db.add(Category(code=code, name=name, name_en=name_en))
    return len(missing)
