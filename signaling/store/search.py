"""The catalog search: an in-memory index over the service items, ranked by relevance.

A caller types what they know: the item's name or a part of it, a common short form
(社保 for 社会保险), pinyin or its initials (shebao, sb), the English name in British or
American spelling, with a small typo. Each item contributes *terms* — its name, English
name, code, keywords (service_items.keywords: the catalog's synonyms), department and
category — and a query scores every term it matches on a 0-100 scale:

| match | score |
|---|---|
| the whole term (name, English name, code; keywords ×0.96) | 100 |
| the term's pinyin / its initials (社保 → shebao / sb) | 93 / 88 |
| code starts with the query | 80-90 |
| Chinese part of a term (保险), English phrase or word of a term | 85-95 / 88-92 / 90 |
| English word starting with the query (lic → license) | 70-88 |
| pinyin of consecutive syllables (baoxian) | 84 |
| Chinese abbreviation: the query's characters in order, ≤ 2 between (社保 → 社会保险) | 80 |
| pinyin abbreviation: whole syllables or initials in order (shebao, sb → 社会保险) | 72 |
| Chinese homophone (社报 → she bao) | 62-70 |
| typo: 1 edit (2 in words of 6+ letters) of an unknown English word, or of a term's pinyin | 70-76 |
| Chinese typo (one character off in 4+) | ~60-75 |

A term's score is multiplied by its field's weight (department and category 0.6), an
item scores its best term, and a query of several words scores the mean of its words
(or the whole phrase, if better). Items under MIN_SCORE are left out; the rest are
ranked by score, then category and code. docs/development.md explains the choices.

The index is rebuilt from the catalog whenever it changes (`CatalogIndex.refresh`); the
pinyin of each text and the terms of each item are cached, so a rebuild after an edit
costs tens of milliseconds for 1,100 items (bench/search.py).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

import numpy as np
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

MIN_SCORE = 50.0
WEIGHTS = {"code": 1.0, "name": 1.0, "name_en": 1.0, "keywords": 0.96,
           "department": 0.6, "department_en": 0.6, "category": 0.6}

# British spellings a caller may type, and the American ones the catalog may use (or the
# other way round): both sides are folded to the American form before they are compared.
# Prefer an item's keywords for anything beyond spelling.
SPELLING = {
    "licence": "license", "licences": "licenses", "licenced": "licensed",
    "centre": "center", "centres": "centers",
    "organisation": "organization", "organisations": "organizations", "organise": "organize",
    "labour": "labor", "enrol": "enroll", "enrolment": "enrollment",
    "programme": "program", "defence": "defense", "catalogue": "catalog",
    "authorisation": "authorization", "notarisation": "notarization", "recognised": "recognized",
}
# Words that say nothing about the item: left out of a several-word query's mean.
STOPWORDS = frozenset("a an and the of for to in on or by with my our i how do can".split())

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_HAS_CJK = re.compile(f"[{_CJK}]")
_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(f"[{_CJK}]+|[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_ALNUM = re.compile(f"[^0-9a-z{_CJK}]+")
# Keywords are separated by commas, semicolons (ASCII or full-width), 、 or line breaks;
# spaces separate Chinese words and keep an English phrase ("social security") together.
_KEYWORD_SEPARATORS = re.compile(r"[,;，；、\n\r]+")
MAX_TOKENS = 8
MAX_ABBREVIATION = 12  # longer queries are matched as text, not as an abbreviation
MAX_GAP = 2  # characters or syllables an abbreviation may skip between two of its own


@lru_cache(maxsize=100_000)
def normalize(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, one space between words, spellings folded."""
    text = " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
    return _WORD.sub(lambda m: SPELLING.get(m.group(), m.group()), text)


def split_keywords(text: str) -> list[str]:
    """The keywords of an item's `keywords` text, each with its spaces tidied."""
    return [" ".join(part.split()) for part in _KEYWORD_SEPARATORS.split(text or "") if part.strip()]


@lru_cache(maxsize=50_000)
def syllables(text: str) -> tuple[str, ...]:
    """The pinyin syllables of the Chinese characters of `text`, without tones (ü as v)."""
    return tuple(s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s.isalpha())


@dataclass(slots=True)
class Term:
    """One searchable text, shared by the items that have it (a department, say)."""

    text: str
    field: str
    weight: float
    owners: list[int]
    zh: bool
    pinyin: str = ""    # compact: shehuibaoxian
    initials: str = ""  # shbx


@dataclass(slots=True)
class _Blob:
    """Texts joined by newlines, so one regex or find pass covers them all."""

    text: str = ""
    starts: list[int] = field(default_factory=list)
    terms: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, str]]) -> "_Blob":
        blob, parts, offset = cls(), [], 0
        for term, text in pairs:
            blob.starts.append(offset)
            blob.terms.append(term)
            parts.append(text)
            offset += len(text) + 1
        blob.text = "\n".join(parts)
        return blob

    def at(self, offset: int) -> tuple[int, int]:
        """The term an offset falls in, and the offset from that term's start."""
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.terms[i], offset - self.starts[i]


class _Sequence:
    """The symbols (characters, or syllable ids) of the Chinese terms in one array, the terms
    kept apart by more than MAX_GAP: "these in order, with small gaps" is then a few array
    operations whatever the query (a regex would backtrack exponentially on repetitive text)."""

    def __init__(self, parts: Iterable[tuple[int, list[int]]]):
        symbols: list[int] = []
        terms: list[int] = []
        for term, ids in parts:
            symbols += [*ids, *([-1] * (MAX_GAP + 1))]
            terms += [term] * len(ids) + [-1] * (MAX_GAP + 1)
        self.symbols = np.array(symbols, dtype=np.int32)
        self.terms = np.array(terms, dtype=np.int32)

    def terms_at(self, reach: np.ndarray | None) -> list[int]:
        return [] if reach is None else np.unique(self.terms[reach]).tolist()


def _after(reach: np.ndarray, gap: int) -> np.ndarray:
    """Positions 1 to gap+1 after a position in `reach`."""
    out = np.zeros_like(reach)
    for d in range(1, gap + 2):
        out[d:] |= reach[:-d]
    return out


def _chain(masks: list[np.ndarray], gap: int) -> np.ndarray | None:
    """Where the last mask matches, the earlier ones having matched in order before it."""
    reach = masks[0]
    for mask in masks[1:]:
        reach = mask & _after(reach, gap)
        if not reach.any():
            return None
    return reach if reach.any() else None


class _Snapshot:
    """Everything one search needs, built at once and swapped in whole."""

    def __init__(self, items: list[dict]):
        self.items = sorted(items, key=lambda i: (i["category"], i["code"]))
        self.terms: list[Term] = []
        self.exact: dict[str, list[tuple[int, float]]] = {}
        self.vocab: dict[str, list[int]] = {}
        self.codes: list[tuple[str, int]] = []
        keyed: dict[tuple[str, str], int] = {}
        for index, item in enumerate(self.items):
            code = normalize(item["code"])
            self.codes.append((_NOT_ALNUM.sub("", code), index))
            for text, name in _texts(*(item.get(key) or "" for key in _TEXT_KEYS)):
                key = (text, name)
                if key in keyed:
                    self.terms[keyed[key]].owners.append(index)
                else:
                    keyed[key] = len(self.terms)
                    self.terms.append(self._term(text, name, index))
        for i, term in enumerate(self.terms):
            self._add_exact(term.text, i, 100.0)
            if term.field == "code":
                self._add_exact(_NOT_ALNUM.sub("", term.text), i, 100.0)
            if term.zh:
                self._add_exact(term.pinyin, i, 93.0)
                if len(term.initials) >= 2:
                    self._add_exact(term.initials, i, 88.0)
            for word in set(_WORD.findall(term.text)) if term.field != "code" else ():
                self.vocab.setdefault(word, []).append(i)
        self.words = list(self.vocab)
        zh = [(i, t) for i, t in enumerate(self.terms) if t.zh]
        self.zh = _Blob.of((i, t.text) for i, t in zh)
        self.zh_texts = [t.text for _, t in zh]
        self.zh_ids = [i for i, _ in zh]
        self.py = _Blob.of((i, " " + " ".join(syllables(t.text)) + " ") for i, t in zh)
        self.chars = _Sequence((i, [ord(c) for c in t.text]) for i, t in zh)
        self.syllable_ids: dict[str, int] = {}
        self.sounds = _Sequence((i, [self.syllable_ids.setdefault(x, len(self.syllable_ids))
                                     for x in syllables(t.text)]) for i, t in zh)
        spelled = list(self.syllable_ids)
        ids = np.maximum(self.sounds.symbols, 0)
        self.first = np.where(self.sounds.symbols >= 0,
                              np.array([ord(x[0]) for x in spelled] or [0], dtype=np.int32)[ids], 0)
        self.initial2 = np.where(self.sounds.symbols >= 0, np.array(
            [ord(x[0]) if x[:2] in ("zh", "ch", "sh") else 0 for x in spelled] or [0], dtype=np.int32)[ids], 0)
        self.py_compact = [t.pinyin for _, t in zh]
        self.en = _Blob.of((i, " " + " ".join(_WORD.findall(t.text)) + " ")
                           for i, t in enumerate(self.terms) if not t.zh and t.field != "code")

    @staticmethod
    def _term(text: str, name: str, owner: int) -> Term:
        zh = bool(_HAS_CJK.search(text))
        term = Term(text, name, WEIGHTS[name], [owner], zh)
        if zh:
            sy = syllables(text)
            term.pinyin, term.initials = "".join(sy), "".join(s[0] for s in sy)
        return term

    def _add_exact(self, form: str, term: int, score: float) -> None:
        if form:
            self.exact.setdefault(form, []).append((term, score))


_TEXT_KEYS = ("code", "name", "name_en", "department", "department_en", "keywords",
              "category", "category_name", "category_name_en")


@lru_cache(maxsize=20_000)  # by item: a rebuild after an edit recomputes only the edited item
def _texts(code: str, name: str, name_en: str, department: str, department_en: str, keywords: str,
           category: str, category_name: str, category_name_en: str) -> tuple[tuple[str, str], ...]:
    """(normalized text, field) of every term of an item."""
    out = [(normalize(code), "code")]
    for text, field_name in ((name, "name"), (name_en, "name_en"), (department, "department"),
                             (department_en, "department_en")):
        if normalize(text):
            out.append((normalize(text), field_name))
    for keyword in split_keywords(keywords):
        keyword = normalize(keyword)
        if _HAS_CJK.search(keyword):
            out += [(word, "keywords") for word in keyword.split()]  # spaces separate Chinese words
        else:
            out.append((keyword, "keywords"))
    names = {normalize(category_name), normalize(category_name_en), normalize(category.replace("_", " "))}
    out += [(text, "category") for text in sorted(names - {""})]
    return tuple(out)


class _Hits:
    """The best score each item has reached for one query, and the field it came from."""

    def __init__(self, snap: _Snapshot):
        self.snap = snap
        self.best: dict[int, tuple[float, str]] = {}

    def add(self, term_id: int, score: float) -> None:
        term = self.snap.terms[term_id]
        score *= term.weight
        for owner in term.owners:
            if score > self.best.get(owner, (0.0, ""))[0]:
                self.best[owner] = (score, term.field)


class CatalogIndex:
    """The search index; `refresh` whenever the catalog changes, `search` on every query."""

    def __init__(self) -> None:
        self._snap = _Snapshot([])
        self._fingerprint: int | None = None
        self.version = -1  # the store's catalog version this index was built from

    def refresh(self, items: list[dict], version: int = 0) -> bool:
        """Rebuild from the whole catalog if it differs from what is indexed; True if it did."""
        fingerprint = hash(tuple(sorted(tuple(sorted((k, str(v)) for k, v in i.items())) for i in items)))
        rebuilt = fingerprint != self._fingerprint
        if rebuilt:
            self._snap, self._fingerprint = _Snapshot(items), fingerprint
        self.version = version
        return rebuilt

    def search(self, q: str | None, limit: int = 500, include_retired: bool = False) -> list[dict]:
        """Items matching `q` best first, each with `score` (0-100) and `matched` (the field that
        matched best); without `q`, the whole catalog by category and code."""
        snap = self._snap
        shown = [i for i, item in enumerate(snap.items) if include_retired or not item.get("retired")]
        query = normalize(q or "")
        if not _NOT_ALNUM.sub("", query):
            return [dict(snap.items[i]) for i in shown[:limit]]
        scores = _score_query(snap, query)
        ranked = sorted(
            (i for i in shown if scores.get(i, (0.0,))[0] >= MIN_SCORE),
            key=lambda i: (-round(scores[i][0], 1), snap.items[i]["category"], snap.items[i]["code"]),
        )
        return [{**snap.items[i], "score": round(scores[i][0], 1), "matched": scores[i][1]} for i in ranked[:limit]]


def _score_query(snap: _Snapshot, query: str) -> dict[int, tuple[float, str]]:
    whole = _score_unit(snap, query)
    tokens = _TOKEN.findall(query)[:MAX_TOKENS]
    if len(tokens) <= 1:
        return whole if tokens == [query] or not tokens else _best(whole, _score_unit(snap, tokens[0]))
    meaningful = [t for t in tokens if t not in STOPWORDS] or tokens
    parts = [_score_unit(snap, t) for t in meaningful]
    mean: dict[int, tuple[float, str]] = {}
    for item in set().union(*parts):
        found = [p[item] for p in parts if item in p]
        mean[item] = (sum(s for s, _ in found) / len(parts), max(found)[1])
    return _best(whole, mean)


def _best(a: dict, b: dict) -> dict:
    out = dict(a)
    for item, hit in b.items():
        if hit[0] > out.get(item, (0.0,))[0]:
            out[item] = hit
    return out


def _score_unit(snap: _Snapshot, unit: str) -> dict[int, tuple[float, str]]:
    """Scores for one query text: a word, a run of Chinese characters or the whole query."""
    hits = _Hits(snap)
    compact = _NOT_ALNUM.sub("", unit)
    for form in {unit, compact}:
        for term, score in snap.exact.get(form, ()):
            hits.add(term, score)
    if not compact:
        return hits.best
    if _CJK_RUN.fullmatch(compact):
        _chinese(snap, hits, compact)
    elif compact.isascii():
        _codes(snap, hits, compact)
        _english(snap, hits, unit)
        if compact.isalpha() and len(compact) >= 2:
            _pinyin(snap, hits, compact)
    return hits.best


def _codes(snap: _Snapshot, hits: _Hits, compact: str) -> None:
    if len(compact) < 2:
        return
    for code, item in snap.codes:
        if code.startswith(compact) and code != compact:
            score = 80 + 10 * len(compact) / len(code)
            if score > hits.best.get(item, (0.0,))[0]:
                hits.best[item] = (score, "code")


def _chinese(snap: _Snapshot, hits: _Hits, q: str) -> None:
    blob = snap.zh
    start = blob.text.find(q)
    while start >= 0:  # a part of a term: more for a larger part, and at the term's start
        term, offset = blob.at(start)
        length = len(snap.terms[term].text)
        hits.add(term, 85 + 8 * len(q) / length + (2 if offset == 0 else 0))
        start = blob.text.find(q, start + 1)
    if 2 <= len(q) <= MAX_ABBREVIATION:
        chars = snap.chars.symbols
        for term in snap.chars.terms_at(_chain([chars == ord(c) for c in q], MAX_GAP)):
            hits.add(term, 80)
        sy = syllables(q)  # homophones: the right sound, another character (an IME slip)
        if len(sy) == len(q) and all(x in snap.syllable_ids for x in sy):
            sounds = [snap.sounds.symbols == snap.syllable_ids[x] for x in sy]
            for gap, score in ((0, 70), (MAX_GAP, 62)):
                for term in snap.sounds.terms_at(_chain(sounds, gap)):
                    hits.add(term, score)
    if len(q) >= 4:
        for _, ratio, i in process.extract(q, snap.zh_texts, scorer=fuzz.partial_ratio,
                                           score_cutoff=75, limit=None):
            hits.add(snap.zh_ids[i], 0.8 * ratio)


def _allowed_edits(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 6 else 2


def _english(snap: _Snapshot, hits: _Hits, unit: str) -> None:
    words = _WORD.findall(unit)
    if len(words) > 1:  # a phrase inside an English name or keyword, word-aligned
        phrase = " " + " ".join(words) + " "
        blob = snap.en
        start = blob.text.find(phrase)
        while start >= 0:
            term, offset = blob.at(start)
            hits.add(term, 92 if offset == 0 else 88)
            start = blob.text.find(phrase, start + 1)
        return
    if not words:
        return
    word = words[0]
    for term in snap.vocab.get(word, ()):
        hits.add(term, 90)
    for other in snap.words:
        if other != word and len(word) >= 2 and other.startswith(word):  # typing it: lic → license
            score = 70 + 18 * len(word) / len(other)
        elif other != word and len(other) >= 4 and word.startswith(other) and len(word) - len(other) <= 2:
            score = 84  # a plural or -ed of the word: licenses → license
        else:
            continue
        for term in snap.vocab[other]:
            hits.add(term, score)
    edits = _allowed_edits(word) if word not in snap.vocab else 0  # a known word is no typo
    if edits:
        for other, distance, _ in process.extract(word, snap.words, scorer=OSA.distance,
                                                  score_cutoff=edits, limit=None):
            if distance:
                for term in snap.vocab[other]:
                    hits.add(term, 76 - 6 * (distance - 1))


def _pinyin(snap: _Snapshot, hits: _Hits, q: str) -> None:
    blob = snap.py.text
    # Consecutive syllables, the last one maybe unfinished: baoxian, shehuibao, baox.
    contiguous = re.compile(" " + " ?".join(map(re.escape, q)))
    for m in contiguous.finditer(blob):
        hits.add(snap.py.at(m.start())[0], 84)
    if len(q) <= MAX_ABBREVIATION:
        for term in snap.sounds.terms_at(_pinyin_abbreviation(snap, q)):
            hits.add(term, 72)
    edits = _allowed_edits(q)
    if edits:  # a typo in the pinyin of a whole keyword or name: shebap
        for _, distance, i in process.extract(q, snap.py_compact, scorer=OSA.distance,
                                              score_cutoff=edits, limit=None):
            if distance:
                hits.add(snap.zh_ids[i], 76 - 6 * (distance - 1))


def _pinyin_abbreviation(snap: _Snapshot, q: str) -> np.ndarray | None:
    """Where `q` ends when read as whole syllables or initials (zh/ch/sh count as one; the last
    piece may be unfinished), one per syllable, in order, at most MAX_GAP syllables skipped
    between them: shebao, sb, shbx → she hui bao xian. reach[e]: where q[:e] can end."""
    symbols = snap.sounds.symbols
    reach: list[np.ndarray | None] = [None] * (len(q) + 1)
    for start in range(len(q)):
        if start and reach[start] is None:
            continue
        allowed = None if start == 0 else _after(reach[start], MAX_GAP)
        for end, mask in _pieces(snap, symbols, q, start):
            if allowed is not None:
                mask = mask & allowed
            if mask.any():
                reach[end] = mask if reach[end] is None else reach[end] | mask
    return reach[len(q)]


def _pieces(snap: _Snapshot, symbols: np.ndarray, q: str, start: int) -> Iterable[tuple[int, np.ndarray]]:
    """The pieces of `q` that may start at `start`, each with the positions of syllables it fits."""
    yield start + 1, snap.first == ord(q[start])  # an initial
    if q[start:start + 2] in ("zh", "ch", "sh"):
        yield start + 2, snap.initial2 == ord(q[start])
    for end in range(start + 2, min(len(q), start + 6) + 1):  # a whole syllable
        if q[start:end] in snap.syllable_ids:
            yield end, symbols == snap.syllable_ids[q[start:end]]
    rest = q[start:]
    if 2 <= len(rest) <= 6 and rest not in snap.syllable_ids:  # the last one, being typed
        ids = [i for x, i in snap.syllable_ids.items() if x.startswith(rest)]
        if ids:
            yield len(q), np.isin(symbols, ids)
