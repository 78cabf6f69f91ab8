"""The official health score of a savings-and-loan cooperative, computed from its ratios by a configuration table.

The rule (docs/domain.md: Perdep 06/Per/Dep.6/IV/2016, continuing Permen KUKM 14/Per/M.KUKM/XII/2009) gives each
ratio a weight and a table of bands; a ratio earns the band's points ("nilai", 0..100) times its weight / 100.
Everything the regulation says is in ``HEALTH_RULES`` -- one row per ratio: aspect, ratio (a feature name),
weight, bands -- so a change of regulation is a change of this table, not of code.

Sources of the numbers (column ``source``):
  DOMAIN     the aspect weights and the two optima docs/domain.md states (equity/assets best at 41-60%, cash ratio
             best at 10-15%), and the category cut-offs (80, 66, 51).
  S-chosen   docs/domain.md marks the ratio weights [S] and gives no bands for these ratios. The bands here are
             our choice, modelled on the Permen 14/2009 worksheet as quoted in secondary sources (theses,
             office worksheets); they were not checked against the regulation's own text. Change them here.
A band is a right-closed interval (lower, upper]: the worksheet's "21-40%" on whole percents reads as
"above 20 up to 40".

What our data cannot score (``NOT_IN_DATA``: 28 of 100 points): Manajemen (15, five questionnaires),
capital adequacy (3, needs risk-weighted assets), member operating cost / gross participation (4, needs the
members' cost of goods), members' SHU / equity (3, needs the SHU split), member economic promotion (3).
Rescaling without them: the score is the points earned divided by the points *applicable to this
cooperative* (the weights of the rules it can be scored on), times 100. This is the worksheet's own
arithmetic over a smaller worksheet, and it keeps the office's category cut-offs meaningful. A rule is not
applicable when the cooperative filed no statement, when it is a lending rule (``lending_only``) and the
cooperative does not lend, or when the ratio is undefined (zero denominator) and the rule gives no
``undefined_points``. With less than ``MIN_APPLICABLE_WEIGHT`` points applicable the score is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INF = math.inf


@dataclass(frozen=True)
class RatioRule:
    """One row of the scoring table. ``bands``: ((upper bound, points), ...) in increasing bounds, each band
    covering (previous bound, upper]; the last bound is +inf. Ratios are in percent."""

    aspect: str
    ratio: str
    weight: float
    bands: tuple[tuple[float, float], ...]
    source: str
    lending_only: bool = False
    undefined_points: float | None = None  # points when the ratio's denominator is zero (or, for SHU, <= 0)
    note: str = ""


def _steps_of_ten() -> tuple[tuple[float, float], ...]:
    """0 points up to 10%, then 10 more per 10 points of ratio, 100 above 100%."""
    return tuple((float(b), float(b - 10)) for b in range(10, 101, 10)) + ((INF, 100.0),)


HEALTH_RULES: tuple[RatioRule, ...] = (
    RatioRule(
        "Permodalan",
        "equity_to_assets",
        6,
        ((0, 0), (20, 25), (40, 50), (60, 100), (80, 50), (INF, 25)),
        "DOMAIN",
        note="best at 41-60% (docs/domain.md); negative equity scores 0 (our choice)",
    ),
    RatioRule(
        "Permodalan",
        "equity_to_risky_loans",
        6,
        _steps_of_ten(),
        "S-chosen",
        lending_only=True,
        undefined_points=100,
        note="no risky loans: full points",
    ),
    RatioRule(
        "Kualitas aktiva produktif",
        "loans_to_members_ratio",
        10,
        ((25, 0), (50, 50), (75, 75), (INF, 100)),
        "S-chosen",
        lending_only=True,
    ),
    RatioRule(
        "Kualitas aktiva produktif",
        "bad_loan_ratio",
        5,
        ((1, 100), (10, 80), (20, 60), (30, 40), (40, 20), (45, 10), (INF, 0)),
        "S-chosen",
        lending_only=True,
        note="50% PKL + 75% PDR + 100% PM over loans",
    ),
    RatioRule(
        "Kualitas aktiva produktif",
        "reserve_to_bad_loans",
        5,
        _steps_of_ten(),
        "S-chosen",
        lending_only=True,
        undefined_points=100,
        note="no bad loans: nothing to reserve, full points",
    ),
    RatioRule(
        "Kualitas aktiva produktif",
        "risky_loan_ratio",
        5,
        ((20, 100), (25, 75), (30, 50), (INF, 25)),
        "S-chosen",
        lending_only=True,
    ),
    RatioRule(
        "Efisiensi",
        "opex_to_gross_shu",
        4,
        ((40, 100), (60, 75), (80, 50), (INF, 25)),
        "S-chosen",
        undefined_points=25,
        note="gross SHU = operating expenses + SHU; zero or negative gross SHU scores the worst band",
    ),
    RatioRule(
        "Efisiensi", "personnel_to_loans", 2, ((5, 100), (10, 75), (15, 50), (INF, 25)), "S-chosen", lending_only=True
    ),
    RatioRule(
        "Likuiditas",
        "cash_ratio",
        10,
        ((10, 25), (15, 100), (20, 50), (INF, 25)),
        "DOMAIN",
        note="best at 10-15% (docs/domain.md); no current liabilities: not applicable",
    ),
    RatioRule(
        "Likuiditas",
        "loans_to_funds",
        5,
        ((50, 25), (75, 50), (100, 75), (INF, 100)),
        "S-chosen",
        lending_only=True,
        note="funds received = principal + mandatory + voluntary savings + external borrowings",
    ),
    RatioRule(
        "Kemandirian dan pertumbuhan", "return_on_assets", 3, ((5, 25), (7.5, 50), (10, 75), (INF, 100)), "S-chosen"
    ),
    RatioRule(
        "Kemandirian dan pertumbuhan",
        "operational_self_sufficiency",
        4,
        ((100, 25), (125, 50), (150, 75), (INF, 100)),
        "S-chosen",
        note="revenue (gross participation + other revenue) over operating expenses",
    ),
    RatioRule("Jatidiri koperasi", "participation_ratio", 7, ((25, 25), (50, 50), (75, 75), (INF, 100)), "S-chosen"),
)

NOT_IN_DATA: tuple[tuple[str, str, float], ...] = (
    ("Permodalan", "capital adequacy (modal tertimbang / ATMR)", 3),
    ("Manajemen", "five questionnaires", 15),
    ("Efisiensi", "member operating cost / gross participation", 4),
    ("Kemandirian dan pertumbuhan", "members' SHU / equity", 3),
    ("Jatidiri koperasi", "member economic promotion", 3),
)

# Risk weights of the bad loans (50% PKL + 75% PDR + 100% PM): substandard, doubtful, loss.
BAD_LOAN_WEIGHTS: tuple[float, float, float] = (0.50, 0.75, 1.00)

# Category by score, the contract's bands (docs/domain.md): rank 0 SEHAT >= 80, 1 CUKUP_SEHAT >= 66,
# 2 DALAM_PENGAWASAN >= 51, 3 DALAM_PENGAWASAN_KHUSUS below.
CATEGORY_CUTS: tuple[float, ...] = (80.0, 66.0, 51.0)
MIN_APPLICABLE_WEIGHT = 20.0


def band_points(rule: RatioRule, values: np.ndarray) -> np.ndarray:
    """The band points (0..100) each value earns under ``rule``; NaN stays NaN."""
    uppers = np.array([b for b, _ in rule.bands], dtype=float)
    points = np.array([p for _, p in rule.bands], dtype=float)
    idx = np.searchsorted(uppers, values, side="left")  # first band whose upper >= value: (lower, upper]
    out = points[np.minimum(idx, len(points) - 1)]
    return np.where(np.isnan(values), np.nan, out)


def category_rank(score: np.ndarray) -> np.ndarray:
    """0..3 (SEHAT .. DALAM_PENGAWASAN_KHUSUS) from a score; NaN stays NaN."""
    rank = np.full(score.shape, 3.0)
    for i, cut in reversed(list(enumerate(CATEGORY_CUTS))):
        rank = np.where(score >= cut, float(i), rank)
    return np.where(np.isnan(score), np.nan, rank)


def official_score(
    ratios: dict[str, np.ndarray], filed: np.ndarray, lends: np.ndarray, undefined: dict[str, np.ndarray]
) -> np.ndarray:
    """The rescaled official score (0..100) for arrays of ratios of the same shape.

    ``filed``: a statement exists; ``lends``: loans outstanding > 0; ``undefined[ratio]``: the statement exists
    but the ratio's denominator is zero (or not positive where the rule says so).
    """
    earned = np.zeros(filed.shape)
    applicable = np.zeros(filed.shape)
    for rule in HEALTH_RULES:
        value = ratios[rule.ratio]
        points = band_points(rule, value)
        if rule.undefined_points is not None:
            points = np.where(undefined[rule.ratio] & np.isnan(points), rule.undefined_points, points)
        ok = filed & ~np.isnan(points)
        if rule.lending_only:
            ok &= lends
        earned += np.where(ok, points * rule.weight / 100.0, 0.0)
        applicable += np.where(ok, rule.weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 100.0 * earned / applicable
    return np.where(applicable >= MIN_APPLICABLE_WEIGHT, score, np.nan)


def rules_table() -> list[dict[str, object]]:
    """The scoring table as plain rows (for documentation and the feature file's metadata)."""
    rows: list[dict[str, object]] = [
        {
            "aspect": r.aspect,
            "ratio": r.ratio,
            "weight": r.weight,
            "bands": [[None if math.isinf(b) else b, p] for b, p in r.bands],
            "source": r.source,
            "lending_only": r.lending_only,
            "undefined_points": r.undefined_points,
            "note": r.note,
        }
        for r in HEALTH_RULES
    ]
    rows += [
        {"aspect": a, "ratio": name, "weight": w, "bands": None, "source": "not in our data"}
        for a, name, w in NOT_IN_DATA
    ]
    return rows
