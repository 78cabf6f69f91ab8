"""What a reason says: the facts behind the features, each judged harmful or healthy against a stated reference.

A model's contribution says that a feature pushed a probability up or down; it does not say why, and read alone it
misleads ("bad loans fell to 10%" given as a reason for risk). A reason therefore names a FACT about the
cooperative that a person can check against a yardstick:

- a ratio of the official health score is judged against its healthy band, the band that earns full points in
  the scoring table (features/health_score.py): "pinjaman bermasalah 14% (batas sehat: paling tinggi 1%)"; its
  changes count only in the direction that raises the risk (away from the band, or, for a one-sided band,
  toward the unhealthy side), and are said beside the level;
- flags and counts are judged by the warning signs the features already use (features/build.py WARNING_SIGNS:
  no hired manager, over a quarter of the staff left, nobody trained, fewer than four board meetings, the RAT not
  held) or by an obvious zero (no supervisor, no supervisory meeting); RAT attendance under half the members;
- a value missing because a report was not filed is the one fact "laporan keuangan 2024 tidak ada", however many
  ratios it leaves uncomputed; the summary features (``weakness_<clinic>``: the share of an area's warning signs
  shown) are split over the signs they count, so each sign is said once, in its own words.

Everything else (a total, a count, a type, a district, the age) has no yardstick here and is never given as a
reason, though its contribution still counts in the probability. Each feature's contribution goes to at most one
fact per row (:func:`attributions`), so a fact is said once, and its words come from the row (:func:`words`).

States: HARM (the value is on the unhealthy side: a reason for risk, or a hindrance to recovery), HEALTHY (on the
healthy side: it helps recovery) or 0 (no yardstick, or not known).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from klinik.data.contract import CLINICS, HEALTH_CATEGORIES
from klinik.features.catalog import FEATURES
from klinik.features.health_score import CATEGORY_CUTS, HEALTH_RULES
from klinik.wording import WORDS, label, number, number_pair, percent, percent_pair, say

HARM, HEALTHY = 1, -1


@dataclass(frozen=True)
class Band:
    """The healthy range of a level: above ``low`` (or at it when ``low_closed``) and at most ``high``."""

    low: float | None
    high: float | None
    low_closed: bool = False
    unit: str = "pct"
    _said: dict = field(default_factory=dict, compare=False, repr=False)

    def state(self, v: np.ndarray) -> np.ndarray:
        below = np.zeros(v.shape, bool) if self.low is None else (v < self.low if self.low_closed else v <= self.low)
        above = np.zeros(v.shape, bool) if self.high is None else v > self.high
        return np.where(np.isnan(v), 0, np.where(below | above, HARM, HEALTHY)).astype(np.int8)

    def side(self, v: float) -> str:
        """ "over", "under" or "in" for one value."""
        if self.high is not None and v > self.high:
            return "over"
        if self.low is not None and (v < self.low if self.low_closed else v <= self.low):
            return "under"
        return "in"

    def words(self, lang: str) -> str:
        said = self._said.get(lang)
        if said is None:
            said = self._said[lang] = self._words(lang)
        return said

    def _words(self, lang: str) -> str:
        def v(x: float) -> str:
            return percent(x, lang) if self.unit == "pct" else number(x, 0, lang)

        if self.low is None:
            return say("fact.band_at_most", lang, hi=v(self.high))
        if self.high is None:
            return say("fact.band_above", lang, lo=v(self.low))
        return say("fact.band_between", lang, lo=v(self.low), hi=v(self.high))


def _full_points_band(rule) -> Band:
    """The bands earning the rule's most points, as one range (the scoring table's bands are right-closed)."""
    best = max(p for _, p in rule.bands)
    uppers = [b for b, _ in rule.bands]
    first = next(i for i, (_, p) in enumerate(rule.bands) if p == best)
    last = max(i for i, (_, p) in enumerate(rule.bands) if p == best)
    low = None if first == 0 else uppers[first - 1]
    high = None if math.isinf(uppers[last]) else uppers[last]
    return Band(low, high)


BANDS: dict[str, Band] = {r.ratio: _full_points_band(r) for r in HEALTH_RULES}
BANDS["official_score"] = Band(CATEGORY_CUTS[0], None, low_closed=True, unit="ratio")  # SEHAT: 80 and above

# The facts a reason can name, with the clinic area each belongs to (CONTEXT: never a reason for risk; the recovery
# model's hindrances and helps may name them).
_RATIO_KEYS = tuple(BANDS)
FACT_GROUP: dict[str, str] = {
    **{k: FEATURES[k].group for k in _RATIO_KEYS},
    **{f"{k}_prev": FEATURES[k].group for k in _RATIO_KEYS},
    "asset_growth": "KEUANGAN",
    "net_loss": "KEUANGAN",
    "negative_equity": "KEUANGAN",
    "balance_gap": "KEUANGAN",
    "no_fs": "KEUANGAN",
    "no_fs_prev": "KEUANGAN",
    "no_board": "SDM",
    "no_supervisors": "SDM",
    "manager": "SDM",
    "manager_prev": "SDM",
    "certified": "SDM",
    "training": "SDM",
    "turnover": "SDM",
    "no_sr": "SDM",
    "rat": "KELEMBAGAAN",
    "rat_attendance": "KELEMBAGAAN",
    "rat_late": "KELEMBAGAAN",
    "board_meetings": "KELEMBAGAAN",
    "supervisory": "KELEMBAGAAN",
    "member_growth": "KELEMBAGAAN",
    "never_assessed": "KELEMBAGAAN",
    **{f"no_weak_{c.lower()}": c for c in CLINICS},
    "years_sick": "CONTEXT",
    "sick_recent": "CONTEXT",
    "sick_total": "CONTEXT",
    "health_now": "CONTEXT",
    "health_prev": "CONTEXT",
    "treatment": "CONTEXT",
    "treatment_prev": "CONTEXT",
    "clinic_match": "CONTEXT",
    "clinic_match_prev": "CONTEXT",
    "clinic_weakest": "CONTEXT",
    "clinic_weakest_prev": "CONTEXT",
    "recovered_before": "CONTEXT",
}
FACT_KEYS = tuple(FACT_GROUP)

# The warning signs each weakness_<clinic> feature counts (features/build.py WARNING_SIGNS), as (fact, the feature
# whose words say it, the test on the row). tests/code/test_reasons.py recomputes weakness_<clinic> from these.
WARNING_SIGN_FACTS: dict[str, tuple[tuple[str, str, object], ...]] = {
    "KEUANGAN": (
        ("official_score", "official_category_rank", lambda col: col("official_category_rank") >= 2),
        ("net_loss", "net_loss", lambda col: col("net_loss") == 1),
        ("negative_equity", "negative_equity", lambda col: col("negative_equity") == 1),
        ("bad_loan_ratio", "bad_loan_ratio_chg1", lambda col: col("bad_loan_ratio_chg1") > 0),
    ),
    "SDM": (
        ("manager", "has_manager", lambda col: col("has_manager") == 0),
        ("turnover", "staff_departure_rate", lambda col: col("staff_departure_rate") > 25),
        ("training", "trained_share", lambda col: col("trained_share") == 0),
        ("no_sr", "no_staffing_report", lambda col: col("no_staffing_report") == 1),
    ),
    "KELEMBAGAAN": (
        ("rat", "rat_held", lambda col: col("rat_held") == 0),
        ("rat", "rat_missed_years", lambda col: col("rat_missed_years") >= 2),
        ("board_meetings", "board_meetings", lambda col: col("board_meetings") < 4),
        ("no_fs", "no_financial_statement", lambda col: col("no_financial_statement") == 1),
    ),
}


@dataclass
class Attribution:
    """Feature ``feature``'s contribution goes, with ``weight`` (per row), to fact ``key`` in state ``state``
    (per row); ``member`` is the feature whose words the fact then says (usually ``feature`` itself)."""

    feature: str
    key: str
    weight: np.ndarray
    state: np.ndarray
    member: str


def _state(harm: np.ndarray, healthy: np.ndarray) -> np.ndarray:
    return np.where(harm, HARM, np.where(healthy, HEALTHY, 0)).astype(np.int8)


class _Columns:
    """Feature columns as float arrays (NaN where missing or absent), read once each."""

    def __init__(self, frame: pd.DataFrame):
        self.frame, self.n, self._cache = frame, len(frame), {}

    def __call__(self, name: str) -> np.ndarray:
        found = self._cache.get(name)
        if found is None:
            if name in self.frame.columns:
                found = pd.to_numeric(self.frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            else:
                found = np.full(self.n, np.nan)
            self._cache[name] = found
        return found


def _change_state(base: str, level: np.ndarray, change: np.ndarray) -> np.ndarray:
    """A change raises the risk when it moves away from the healthy band: for a two-sided band only from outside
    it; for a one-sided band toward its unhealthy side; for a ratio with no band, in its risk direction."""
    band = BANDS.get(base)
    up, down = change > 0, change < 0
    if band is None or (band.low is not None and band.high is not None):
        if band is None:
            sure = FEATURES[base].risk_direction
            return _state(
                up if sure > 0 else down if sure < 0 else False, down if sure > 0 else up if sure < 0 else False
            )
        side = band.state(level)
        over = (side == HARM) & (level > band.high)
        under = (side == HARM) & ~over
        return _state((over & up) | (under & down), (over & down) | (under & up))
    if band.low is None:  # at most high: rising is the unhealthy way
        return _state(up, down)
    return _state(down, up)  # above low: falling is the unhealthy way


def attributions(features: pd.DataFrame, names) -> list[Attribution]:
    """Where each feature's contribution goes, per row: for each of ``names`` (the model's input features) one or
    more Attributions. A feature without a yardstick gets none."""
    col = _Columns(features)
    n = col.n
    one = np.ones(n)
    no_fs, no_fs_prev = col("no_financial_statement") == 1, col("no_financial_statement_prev") == 1
    no_sr = col("no_staffing_report") == 1
    out: list[Attribution] = []

    def add(feature, key, weight, state, member=None):
        out.append(Attribution(feature, key, np.asarray(weight, dtype=float), state, member or feature))

    def missing_report(feature, value, flagged, key):
        """A value missing because its report was not filed: the fact of the missing report."""
        add(feature, key, (np.isnan(value) & flagged).astype(float), np.full(n, HARM, np.int8))

    for name in names:
        spec = FEATURES.get(name)
        if spec is None:
            continue
        v = col(name)
        base = spec.delta[0] if spec.delta else name[: -len("_prev")] if name.endswith("_prev") else name
        if (
            base in BANDS
            and base != "loans_to_funds"
            and name in (base, f"{base}_chg1", f"{base}_chg3", f"{base}_prev")
        ):
            if name == base:
                add(name, base, one, BANDS[base].state(v))
            elif name.endswith("_prev"):
                now, before = BANDS[base].state(col(base)), BANDS[base].state(v)
                add(name, base, (now == before).astype(float), before)
                add(name, f"{base}_prev", (now != before).astype(float), before)
                missing_report(name, v, no_fs_prev, "no_fs_prev")
                continue
            else:
                add(name, base, one, _change_state(base, col(base), v))
            missing_report(name, v, no_fs, "no_fs")
            continue
        if name.startswith("weakness_"):  # before the catch-alls of its source below
            clinic = name[len("weakness_") :].upper()
            signs = WARNING_SIGN_FACTS[clinic]
            with np.errstate(invalid="ignore"):
                shown = [np.asarray(test(col), dtype=bool) for _, _, test in signs]
            count = np.sum(shown, axis=0)
            for (key, member, _), is_shown in zip(signs, shown):
                add(
                    name,
                    key,
                    np.where(count > 0, is_shown / np.maximum(count, 1), 0.0),
                    _state(is_shown, False),
                    member,
                )
            add(name, f"no_weak_{clinic.lower()}", (v == 0).astype(float), np.full(n, HEALTHY, np.int8))
        elif name == "loans_to_funds":  # a scoring rule for lenders: a cooperative that lends nothing is not judged
            add(name, base, (v != 0).astype(float), BANDS[base].state(v))
            missing_report(name, v, no_fs, "no_fs")
        elif name == "official_category_rank":
            add(name, "official_score", one, _state(v >= 1, v == 0))
            missing_report(name, v, no_fs, "no_fs")
        elif name in ("asset_growth_1y", "asset_growth_3y"):
            add(name, "asset_growth", one, _state(v < 0, v > 0))
            missing_report(name, v, no_fs, "no_fs")
        elif name in ("net_loss", "negative_equity"):
            add(name, name, one, _state(v == 1, v == 0))
            missing_report(name, v, no_fs, "no_fs")
        elif name == "balance_sheet_gap":
            add(name, "balance_gap", one, _state(np.abs(v) > 1, False))
            missing_report(name, v, no_fs, "no_fs")
        elif name == "no_financial_statement":
            add(name, "no_fs", one, _state(v == 1, v == 0))
        elif name == "no_financial_statement_prev":
            add(name, "no_fs_prev", one, _state(v == 1, v == 0))
        elif spec.source == "financials" and spec.group == "KEUANGAN":
            missing_report(name, v, no_fs, "no_fs")  # no yardstick for its value (total assets): only its absence
        elif name == "board_members":
            add(name, "no_board", one, _state(v == 0, False))
            missing_report(name, v, no_sr, "no_sr")
        elif name == "supervisors":
            add(name, "no_supervisors", one, _state(v == 0, False))
            missing_report(name, v, no_sr, "no_sr")
        elif name in ("has_manager", "has_manager_prev"):
            if name == "has_manager":
                add(name, "manager", one, _state(v == 0, v == 1))
                missing_report(name, v, no_sr, "no_sr")
            else:
                same = col("has_manager") == v
                add(name, "manager", same.astype(float), _state(v == 0, v == 1))
                add(name, "manager_prev", (~same).astype(float), _state(v == 0, v == 1))
        elif name == "certified_share":
            add(name, "certified", one, _state(v == 0, v >= 50))
            missing_report(name, v, no_sr, "no_sr")
        elif name == "trained_share":
            add(name, "training", one, _state(v == 0, v > 0))
            missing_report(name, v, no_sr, "no_sr")
        elif name in ("staff_departure_rate", "staff_departures"):
            rate = col("staff_departure_rate")
            add(name, "turnover", one, _state(rate > 25, col("staff_departures") == 0), "staff_departure_rate")
            missing_report(name, v, no_sr, "no_sr")
        elif name == "no_staffing_report":
            add(name, "no_sr", one, _state(v == 1, v == 0))
        elif spec.source == "staffing" and spec.group == "SDM":
            missing_report(name, v, no_sr, "no_sr")
        elif name in ("rat_held", "rat_missed_years"):
            add(name, "rat", one, _state(v == 0, v == 1) if name == "rat_held" else _state(v >= 1, v == 0))
        elif name == "rat_attendance_share":
            add(name, "rat_attendance", one, _state(v < 50, v >= 50))
            add(
                name, "rat", (np.isnan(v) & (col("rat_held") == 0)).astype(float), np.full(n, HARM, np.int8), "rat_held"
            )
        elif name in ("rat_prev_days_late_office", "rat_prev_days_late_legal"):
            add(name, "rat_late", one, _state(v > 0, v == 0))
        elif name == "board_meetings":
            add(name, "board_meetings", one, _state(v < 4, v >= 4))
        elif name == "supervisory_meetings":
            add(name, "supervisory", one, _state(v == 0, v > 0))
        elif name in ("member_growth_1y", "member_growth_3y"):
            add(name, "member_growth", one, _state(v < 0, v > 0))
            missing_report(name, v, no_sr, "no_sr")
        elif name == "never_assessed":
            add(name, "never_assessed", one, _state(v == 1, False))
        elif name == "years_sick":
            add(name, "years_sick", one, _state(v >= 2, v == 1))
        elif name in ("sick_years_total", "sick_assessments_3y"):
            if name == "sick_years_total":
                add(name, "sick_total", one, _state(v >= 3, False))
            else:
                add(name, "sick_recent", one, _state(v >= 2, v == 1))
        elif name == "health_category_rank":
            add(name, "health_now", one, _state(v == 3, v == 2))
        elif name == "health_score":
            add(name, "health_now", one, _state(v < CATEGORY_CUTS[2], v >= CATEGORY_CUTS[2]))
        elif name == "prev_health_category_rank":
            add(name, "health_prev", one, _state(v == 3, v <= 1))
        elif name in ("clinic_case_open", *(f"clinic_{c.lower()}" for c in CLINICS)):
            add(name, "treatment", one, _state(v == 0, v == 1) if name == "clinic_case_open" else _state(False, v == 1))
        elif name in ("clinic_case_open_prev", *(f"clinic_{c.lower()}_prev" for c in CLINICS)):
            harm = v == 0 if name == "clinic_case_open_prev" else False
            add(name, "treatment_prev", one, _state(harm, v == 1))
        elif name.startswith(("clinic_matches_weakness", "clinic_at_weakest")):
            key = "clinic_match" if name.startswith("clinic_matches_weakness") else "clinic_weakest"
            add(name, key + ("_prev" if name.endswith("_prev") else ""), one, _state(v == 0, v == 1))
        elif name == "clinic_cases_recovered":
            add(name, "recovered_before", one, _state(False, v >= 1))
    return out


# ---------------------------------------------------------------- words


def _get(row: Mapping, name: str) -> float:
    v = row.get(name)
    if v.__class__ is float:  # the reasons' rows (RowValues) give floats: the hot path
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


class RowValues:
    """A feature table's columns as float arrays, each read once, and one row of them as a mapping of floats
    (``at(i)``): what the words of every reason read, without a pandas Series per row."""

    def __init__(self, frame: pd.DataFrame):
        self._columns = _Columns(frame)

    def at(self, i: int) -> _At:
        return _At(self._columns, i)


class _At(Mapping):
    __slots__ = ("_columns", "_i")

    def __init__(self, columns: _Columns, i: int):
        self._columns, self._i = columns, i

    def get(self, name, default=None):
        return self._columns(name).item(self._i)

    def __getitem__(self, name):
        return self.get(name)

    def __iter__(self):
        return iter(self._columns.frame.columns)

    def __len__(self):
        return len(self._columns.frame.columns)


class _Pick:
    """``fields`` seen from one language: a pair gives its ``i``-th word, anything else itself."""

    __slots__ = ("fields", "i")

    def __init__(self, fields: dict, i: int):
        self.fields, self.i = fields, i

    def __getitem__(self, key):
        v = self.fields[key]
        return v[self.i] if v.__class__ is tuple else v


def _pair(key: str, **fields) -> tuple[str, str]:
    """The Indonesian and English words of ``key`` (``fields``: a value per language as a pair, or one for both)."""
    pair = WORDS[key]
    return pair[0].format_map(_Pick(fields, 0)), pair[1].format_map(_Pick(fields, 1))


def _value_pair(base: str, v: float) -> tuple[str, str]:
    if FEATURES[base].unit == "pct":
        return percent_pair(v)
    return number_pair(v, 0 if abs(v) >= 10 or v.is_integer() else 1)


def _around(key: str, field: str, **fixed) -> tuple[tuple[str, str], tuple[str, str]]:
    """The words of ``key`` with every field but ``field`` filled in, as the text before and after ``field`` in
    each language: filling it in is then two concatenations (the reasons of a national run say hundreds of
    thousands of these)."""
    marker = "\x00"
    one, two = _pair(key, **fixed, **{field: marker})
    return tuple(one.split(marker)), tuple(two.split(marker))


def _put(around: tuple[tuple[str, str], tuple[str, str]], value: tuple[str, str]) -> tuple[str, str]:
    (a, b), (c, d) = around
    return a + value[0] + b, c + value[1] + d


class _RatioWords:
    """The fixed words of one banded ratio in both languages, made once."""

    def __init__(self, base: str):
        band = BANDS[base]
        self.base, self.band = base, band
        self.name = (FEATURES[base].label_id, FEATURES[base].label_en)
        self.band_words = (band.words("id"), band.words("en"))
        self.side = {
            side: _pair(key, label=self.name)
            for side, key in (("over", "fact.over_band"), ("under", "fact.under_band"), ("in", "fact.in_band"))
        }
        self.rising, self.falling = _pair("fact.rising", label=self.name), _pair("fact.falling", label=self.name)
        self.pct = FEATURES[base].unit == "pct"
        self.level = {}
        for side in ("over", "under", "in"):
            (a, b), (c, d) = _around("fact.level", "value", label=self.name, band=self.band_words)
            why = WORDS.get(f"why.{base}.{side}")
            if why is not None:
                b, d = f"{b}: {why[0]}", f"{d}: {why[1]}"
            self.level[side] = ((a, b), (c, d))
        self.points = _around("fact.pct_points", "n")
        self.moved = {
            (k, up): _around("fact.change_1" if k == 1 else "fact.change_k", "amount", updown=WORDS[word], k=k)
            for k in (1, 3)
            for up, word in ((True, "fact.up"), (False, "fact.down"))
        }
        self.both = {up: WORDS[word] for up, word in ((True, "fact.up"), (False, "fact.down"))}

    def _amount(self, d: float) -> tuple[str, str]:
        return _put(self.points, number_pair(abs(d), 0 if abs(d) >= 10 or not self.pct else 1))

    def changes(self, said: list[tuple[int, float]]) -> tuple[str, str]:
        """The changes that count, in one phrase: "naik 4,9 poin dalam setahun dan 8,6 poin dalam 3 tahun"."""
        up = said[0][1] > 0
        if len(said) == 2 and (said[1][1] > 0) == up:
            one, three = self._amount(said[0][1]), self._amount(said[1][1])
            return _pair("fact.change_both", updown=self.both[up], amount1=one, amount3=three)
        k, d = said[0]
        return _put(self.moved[(k, up)], self._amount(d))


_RATIO_WORDS = {base: _RatioWords(base) for base in BANDS}


def _ratio_words(key: str, row: Mapping, members: set[str]) -> tuple[str, str, str, str]:
    """A banded ratio's words: its level against the band, then the changes that count (a change that moves
    toward the healthy side is never in ``members``, so never said)."""
    prev = key.endswith("_prev")
    base = key[: -len("_prev")] if prev else key
    w = _RATIO_WORDS[base]
    if prev:
        v = _get(row, key)
        text = _pair("fact.prev_level", label=w.name, value=_value_pair(base, v), band=w.band_words)
        short = _pair("fact.prev_label", label=w.side[w.band.side(v)])
        return short[0], text[0], short[1], text[1]
    level = _get(row, base)
    if base == "official_score" and math.isnan(level) and not math.isnan(_get(row, "official_category_rank")):
        category = _category_pair(int(_get(row, "official_category_rank")))
        head = _pair("fact.official_category", category=category)
    elif base == "official_score" and not math.isnan(level):
        value = number_pair(level, 0)
        head = _pair("fact.official_score", value=value, category=_category_pair(_category_of(level)))
    elif not math.isnan(level):
        head = _put(w.level[w.band.side(level)], _value_pair(base, level))
    else:
        head = w.name
    parts_id, parts_en = [head[0]], [head[1]]
    moved = [(k, _get(row, f"{base}_chg{k}")) for k in (1, 3) if f"{base}_chg{k}" in members]
    moved = [(k, d) for k, d in moved if d == d and d != 0]
    first_change = moved[0][1] if moved else 0.0
    if moved:
        said = w.changes(moved)
        parts_id.append(said[0])
        parts_en.append(said[1])
    prev_v = _get(row, f"{base}_prev") if f"{base}_prev" in members and len(parts_id) == 1 else math.nan
    # last year's level is said only where no change is, and where now is no better: never good news as a reason
    if prev_v == prev_v and not math.isnan(level) and not _better(base, level, prev_v):
        said = _pair("fact.prev_value", value=_value_pair(base, prev_v))
        parts_id.append(said[0])
        parts_en.append(said[1])
    if members & {base, f"{base}_prev", "official_category_rank"} or not first_change:
        short = w.side["in" if math.isnan(level) else w.band.side(level)]
    else:
        short = w.rising if first_change > 0 else w.falling
    return short[0], ", ".join(parts_id), short[1], ", ".join(parts_en)


def _better(base: str, now: float, before: float) -> bool:
    """Whether ``now`` lies nearer the healthy band than ``before`` (a fall from last year's level in it)."""
    band = BANDS[base]

    def distance(v: float) -> float:
        if band.high is not None and v > band.high:
            return v - band.high
        if band.low is not None and v <= band.low:
            return band.low - v
        return 0.0

    return distance(now) < distance(before)


def _category_pair(rank: int) -> tuple[str, str]:
    code = HEALTH_CATEGORIES[min(max(rank, 0), len(HEALTH_CATEGORIES) - 1)]
    return label("category", code, "id"), label("category", code, "en")


def _category_of(score: float) -> int:
    for i, cut in enumerate(CATEGORY_CUTS):
        if score >= cut:
            return i
    return len(CATEGORY_CUTS)


def _label(key: str, harm: bool, lang: str, text: str) -> str:
    """The fact's short label (no number: reasons are counted by it), or its sentence when that has none."""
    found = WORDS.get(f"label.{key}.{'harm' if harm else 'healthy'}")
    return text if found is None else found[0 if lang == "id" else 1]


def words(key: str, state: int, row: Mapping, members: set[str]) -> tuple[str, str, str, str]:
    """(label, sentence) in Indonesian, then in English, of fact ``key`` in ``state`` for ``row`` (a
    feature-table row as a mapping).

    ``members``: the features whose contributions the reason gathers (they choose which changes are said). The
    label says what the value is and carries no number, so reasons can be counted by it."""
    if key in _RATIO_WORDS or (key.endswith("_prev") and key[: -len("_prev")] in _RATIO_WORDS):
        return _ratio_words(key, row, members)
    harm = state == HARM
    text_id, text_en = _sentence(key, harm, row, members, "id"), _sentence(key, harm, row, members, "en")
    return _label(key, harm, "id", text_id), text_id, _label(key, harm, "en", text_en), text_en


def _sentence(key: str, harm: bool, row: Mapping, members: set[str], lang: str) -> str:
    year = int(_get(row, "year")) if not math.isnan(_get(row, "year")) else 0

    def n_of(name: str) -> str:
        v = _get(row, name)
        return "?" if math.isnan(v) else number(v, 0, lang)

    def pct_of(name: str) -> str:
        return percent(_get(row, name), lang)

    if key == "no_fs":
        if not harm:
            return say("fact.fs_filed", lang, year=year)
        ratios = members - {"no_financial_statement", "weakness_kelembagaan"}
        return say("fact.no_fs_ratios" if ratios else "fact.no_fs", lang, year=year)
    if key == "no_fs_prev":
        return say("fact.no_fs" if harm else "fact.fs_filed", lang, year=year - 1)
    if key == "no_sr":
        return say("fact.no_sr" if harm else "fact.sr_filed", lang, year=year)
    if key == "net_loss":
        return say("fact.net_loss" if harm else "fact.no_loss", lang, year=year)
    if key == "negative_equity":
        return say("fact.negative_equity" if harm else "fact.positive_equity", lang)
    if key == "balance_gap":
        return say("fact.balance_gap", lang, value=percent(abs(_get(row, "balance_sheet_gap")), lang))
    if key in ("asset_growth", "member_growth"):
        stem, what = ("asset_growth", "assets") if key == "asset_growth" else ("member_growth", "members")
        parts = []
        for k in (1, 3):
            v = _get(row, f"{stem}_{k}y")
            if f"{stem}_{k}y" in members and not math.isnan(v) and v != 0 and (v < 0) == harm:
                parts.append(say(f"fact.{what}_{'shrink' if harm else 'grow'}", lang, value=percent(abs(v), lang), k=k))
        return ", ".join(parts)
    if key == "no_board":
        return say("fact.no_board", lang)
    if key == "no_supervisors":
        return say("fact.no_supervisors", lang)
    if key in ("manager", "manager_prev"):
        text = say("fact.no_manager" if harm else "fact.has_manager", lang)
        if key == "manager_prev":
            return say("fact.prev_label", lang, label=text)
        return say("fact.also_last_year", lang, text=text) if "has_manager_prev" in members else text
    if key == "certified":
        return say("fact.no_certified", lang) if harm else say("fact.certified", lang, value=pct_of("certified_share"))
    if key == "training":
        if harm:
            return say("fact.no_training", lang, year=year)
        return say("fact.training", lang, value=pct_of("trained_share"), year=year)
    if key == "turnover":
        if not harm:
            return say("fact.no_turnover", lang, year=year)
        return say("fact.turnover", lang, value=pct_of("staff_departure_rate"), year=year, n=n_of("staff_departures"))
    if key == "rat":
        if not harm:
            return say("fact.rat_held", lang, year=year)
        missed = _get(row, "rat_missed_years")
        return (
            say("fact.rat_missed", lang, n=n_of("rat_missed_years"))
            if missed >= 2
            else say("fact.rat_not_held", lang, year=year)
        )
    if key == "rat_attendance":
        return say(
            "fact.rat_attendance_low" if harm else "fact.rat_attendance_ok", lang, value=pct_of("rat_attendance_share")
        )
    if key == "rat_late":
        if not harm:
            return say("fact.rat_on_time", lang, year=year - 1)
        legal = _get(row, "rat_prev_days_late_legal")
        which = "legal" if legal > 0 else "office"
        days = n_of(f"rat_prev_days_late_{which}")
        return say("fact.rat_late", lang, year=year - 1, n=days, which=say(f"fact.deadline_{which}", lang))
    if key == "board_meetings":
        n = _get(row, "board_meetings")
        if not harm:
            return say("fact.board_meetings_ok", lang, n=n_of("board_meetings"), year=year)
        kind = "fact.board_meetings_none" if n == 0 else "fact.board_meetings_few"
        return say(kind, lang, n=n_of("board_meetings"), year=year)
    if key == "supervisory":
        return say(
            "fact.supervisory_none" if harm else "fact.supervisory_ok", lang, n=n_of("supervisory_meetings"), year=year
        )
    if key == "never_assessed":
        return say("fact.never_assessed", lang)
    if key.startswith("no_weak_"):
        return say("fact.no_weakness", lang, clinic=label("clinic", key[len("no_weak_") :].upper(), lang))
    if key == "years_sick":
        return say("fact.years_sick_long" if harm else "fact.years_sick_short", lang, n=n_of("years_sick"))
    if key == "sick_recent":
        return say("fact.sick_often", lang, n=n_of("sick_assessments_3y")) if harm else say("fact.sick_once", lang)
    if key == "sick_total":
        return say("fact.sick_total", lang, n=n_of("sick_years_total"))
    if key == "health_now":
        return say("fact.health_special" if harm else "fact.health_supervised", lang, value=n_of("health_score"))
    if key == "health_prev":
        if harm:
            return say("fact.health_prev_special", lang)
        rank = int(_get(row, "prev_health_category_rank"))
        return say("fact.health_prev_healthy", lang, category=label("category", HEALTH_CATEGORIES[rank], lang))
    if key == "treatment":
        if harm:
            return say("fact.untreated", lang)
        at = [c for c in CLINICS if _get(row, f"clinic_{c.lower()}") == 1]
        return say("fact.treated", lang, clinic=label("clinic", at[0], lang)) if at else say("fact.treated_any", lang)
    if key == "treatment_prev":
        return say("fact.untreated_prev" if harm else "fact.treated_prev", lang)
    if key.startswith(("clinic_match", "clinic_weakest")):
        stem = "fact.clinic_match" if key.startswith("clinic_match") else "fact.clinic_weakest"
        text = say(stem if not harm else f"{stem}_not", lang)
        return say("fact.prev_label", lang, label=text) if key.endswith("_prev") else text
    if key == "recovered_before":
        return say("fact.recovered_before", lang, n=n_of("clinic_cases_recovered"))
    raise KeyError(f"no words for the fact {key!r}")
