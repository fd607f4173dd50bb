"""Specialist scores: timeliness, difficulty and satisfaction in one number (0–100).

Pure functions over aggregates (one row per specialist × service item), so
the database does the counting and this module only combines a few hundred
numbers. The formula is documented for administrators in
docs/administration.md ("Specialist scores"); keep the two in step.

For specialist p over a period, counting p's *answered* sessions and the sessions p *assisted* as the
back office (invited into another specialist's call and accepted, issue 13):

- answer timeliness  A = (answered with connect_ms <= threshold + assisted sessions whose invitation p
  accepted within the threshold) / (answered + assisted)
- handle timeliness  H = mean over p's sessions with a talk time of
  h(AHT of p on item i / norm_i), where norm_i is the item's AHT over all
  specialists in the same period and h(r) = 1 for r <= 1, 2 - r for
  1 < r < 2, and 0 from twice the norm on (weighted by p's sessions per item)
- timeliness         T = (A + H) / 2   (T = A when no session has a talk time)
- difficulty         D = (mean d - 1) / 4 over answered and assisted sessions, where a session's d
  is the mean of the item's difficulty (catalog, 1–5) and p's own difficulty rating of the
  session at wrap-up (1–5; the item's difficulty when p gave none; an assisted session has no
  wrap-up of p's: the item's difficulty)
- satisfaction       S = (mean caller rating - 1) / 4, the ratings of p's answered sessions and of
  the sessions p assisted (the caller rates the whole call); 0.5 (neutral) when no caller rated p
- score = 100 × (0.4·T + 0.2·D + 0.4·S), one decimal; none without answered or assisted sessions.
  Handle timeliness stays the owner's: the talk time of a session is the answering specialist's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WEIGHTS = {"timeliness": 0.4, "difficulty": 0.2, "satisfaction": 0.4}
NEUTRAL_SATISFACTION = 0.5


@dataclass
class Cell:
    """Aggregates of one specialist's sessions of one service item in the period."""

    specialist_id: int
    code: str
    answered: int = 0
    within: int = 0           # answered with connect_ms <= threshold
    talk_sum: float = 0.0     # sum of talk_s over answered sessions that have one
    talk_n: int = 0
    rated_difficulty_sum: int = 0  # the specialist's own difficulty ratings (1-5)
    rated_difficulty_n: int = 0
    satisfaction_sum: int = 0  # callers' ratings (1-5), of answered and assisted sessions
    satisfaction_n: int = 0
    assisted: int = 0  # sessions of others p joined as the back office (invitations accepted)
    assisted_within: int = 0  # ... accepted within the threshold from the invitation


@dataclass
class Breakdown:
    specialist_id: int
    answered: int = 0
    assisted: int = 0
    answer_timeliness: float | None = None
    handle_timeliness: float | None = None
    timeliness: float | None = None
    difficulty: float | None = None
    mean_difficulty: float | None = None
    satisfaction: float | None = None
    mean_satisfaction: float | None = None
    score: float | None = None
    items: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        r = lambda v, d=3: None if v is None else round(v, d)  # noqa: E731
        return {
            "id": self.specialist_id,
            "answered": self.answered,
            "assisted": self.assisted,
            "score": r(self.score, 1),
            "timeliness": r(self.timeliness),
            "answer_timeliness": r(self.answer_timeliness),
            "handle_timeliness": r(self.handle_timeliness),
            "difficulty": r(self.difficulty),
            "mean_difficulty": r(self.mean_difficulty, 2),
            "satisfaction": r(self.satisfaction),
            "mean_satisfaction": r(self.mean_satisfaction, 2),
            "items": self.items,
        }


def handle_factor(ratio: float) -> float:
    """1 up to the norm, falling linearly to 0 at twice the norm."""
    if ratio <= 1:
        return 1.0
    return max(0.0, 2.0 - ratio)


def item_norms(cells: list[Cell]) -> dict[str, float]:
    """Each item's AHT over all specialists: the norm its handle times are held to."""
    sums: dict[str, list[float]] = {}
    for c in cells:
        s = sums.setdefault(c.code, [0.0, 0])
        s[0] += c.talk_sum
        s[1] += c.talk_n
    return {code: total / n for code, (total, n) in sums.items() if n and total > 0}


def compute_scores(cells: list[Cell], item_difficulty: dict[str, int]) -> dict[int, Breakdown]:
    """Score every specialist appearing in `cells` (see the module docstring)."""
    norms = item_norms(cells)
    by_spec: dict[int, list[Cell]] = {}
    for c in cells:
        by_spec.setdefault(c.specialist_id, []).append(c)
    result: dict[int, Breakdown] = {}
    for spec_id, spec_cells in by_spec.items():
        b = Breakdown(specialist_id=spec_id)
        answered = sum(c.answered for c in spec_cells)
        assisted = sum(c.assisted for c in spec_cells)
        b.answered, b.assisted = answered, assisted
        handle_weight = handle_sum = 0.0
        d_sum = 0.0
        sat_sum = sat_n = 0
        for c in sorted(spec_cells, key=lambda c: c.code):
            item_diff = item_difficulty.get(c.code, 3)
            # d of a session = (item + own rating)/2; an unrated session counts the item twice.
            own = c.rated_difficulty_sum + (c.answered - c.rated_difficulty_n) * item_diff
            d_sum += (c.answered * item_diff + own) / 2 + c.assisted * item_diff
            sat_sum += c.satisfaction_sum
            sat_n += c.satisfaction_n
            aht = c.talk_sum / c.talk_n if c.talk_n else None
            norm = norms.get(c.code)
            factor = None
            if aht is not None and norm:
                factor = handle_factor(aht / norm)
                handle_sum += factor * c.talk_n
                handle_weight += c.talk_n
            if c.answered or c.assisted or c.satisfaction_n:
                b.items.append({
                    "code": c.code, "answered": c.answered, "assisted": c.assisted,
                    "within": c.within, "aht_s": None if aht is None else round(aht, 1),
                    "norm_aht_s": None if norm is None else round(norm, 1),
                    "handle_factor": None if factor is None else round(factor, 3),
                    "item_difficulty": item_diff,
                    "rated_difficulty": (round(c.rated_difficulty_sum / c.rated_difficulty_n, 2)
                                         if c.rated_difficulty_n else None),
                    "satisfaction": round(c.satisfaction_sum / c.satisfaction_n, 2) if c.satisfaction_n else None,
                })
        if sat_n:
            b.mean_satisfaction = sat_sum / sat_n
            b.satisfaction = (b.mean_satisfaction - 1) / 4
        if answered or assisted:
            b.answer_timeliness = sum(c.within + c.assisted_within for c in spec_cells) / (answered + assisted)
            b.handle_timeliness = handle_sum / handle_weight if handle_weight else None
            b.timeliness = (
                (b.answer_timeliness + b.handle_timeliness) / 2
                if b.handle_timeliness is not None else b.answer_timeliness
            )
            b.mean_difficulty = d_sum / (answered + assisted)
            b.difficulty = (b.mean_difficulty - 1) / 4
            satisfaction = b.satisfaction if b.satisfaction is not None else NEUTRAL_SATISFACTION
            b.score = 100 * (
                WEIGHTS["timeliness"] * b.timeliness
                + WEIGHTS["difficulty"] * b.difficulty
                + WEIGHTS["satisfaction"] * satisfaction
            )
        result[spec_id] = b
    return result
