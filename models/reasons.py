"""Why, in words a clinic officer reads and can check: the facts behind a model's contributions.

Three kinds of reasons (``KINDS``), each from one model's TreeSHAP contributions (raw log-odds,
models.explain.contributions) gathered into facts (models/facts.py: one fact per thing said, each judged against a
stated yardstick):

- ``risk``: why a cooperative is at risk of falling sick -- for a sick one, why it fell sick. From the RISK model,
  for everyone, because the clinic is chosen from the same contributions (models.explain.main_cause). Only facts
  of a clinic area (KEUANGAN, SDM, KELEMBAGAAN) on their unhealthy side; the facts of the chosen clinic's area
  come first, so the officer sees why this clinic. CONTEXT (type, kecamatan, age, the assessed health history) is
  a state, not something a clinic treats: never a reason, though it counts in the probability.
- ``recovery_hinders`` / ``recovery_helps``: for a sick cooperative, what holds its recovery back and what helps
  it, from the RECOVERY model (the one that gives ``p_recover``), any area or CONTEXT (treatment by the clinic, how
  long it has been sick).

Each reason carries ``points``: how many percentage points it moves the probability it explains (p_sick_next for
risk, p_recover for recovery) against a typical cooperative -- p minus the probability with the fact's
contributions taken out of the calibrated log-odds. A person reads "+6 poin" beside "45%". The sick's risk reasons
have no points (their p_sick_next is not given). ``share`` (the reason's part of all the contributions of its
sign, CONTEXT included) stays in the structured output for tools.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from klinik.data.contract import CLINICS
from klinik.models.facts import FACT_GROUP, FACT_KEYS, HARM, HEALTHY, RowValues, attributions, words
from klinik.wording import points as points_words
from klinik.wording import say

KINDS = ("risk", "recovery_hinders", "recovery_helps")
REASON_FIELDS = (
    "kind",
    "fact",
    "feature",
    "value",
    "contribution",
    "points",
    "group",
    "share",
    "label_id",
    "label_en",
    "text_id",
    "text_en",
)
REASON_COLUMNS = ("coop_id", "position", *REASON_FIELDS)
NO_REASON = {kind: ("reason.none" if kind == "risk" else f"reason.none_{kind}") for kind in KINDS}
NO_REASON_ID, NO_REASON_EN = say("reason.none", "id"), say("reason.none", "en")
_KEY_AT = {k: i for i, k in enumerate(FACT_KEYS)}


def top_reasons(
    contribs: pd.DataFrame,
    features: pd.DataFrame,
    *,
    n: int = 3,
    kind: str = "risk",
    clinic=None,
    probability=None,
    slope: float = 1.0,
) -> pd.DataFrame:
    """The top ``n`` reasons of each row, structured and in words (one row per reason, columns REASON_COLUMNS).

    ``contribs``: per-feature contributions of one model (columns = features, plus "bias"), indexed by coop_id;
    ``features``: the feature table of the same cooperatives (same order; the facts read it); ``kind``: one of
    KINDS; ``clinic``: per row, the clinic chosen (risk: its area's facts first); ``probability``: per row, the
    calibrated probability the contributions explain (NaN: no points); ``slope``: the calibration's slope on the
    raw log-odds (Platt's ``a``), which turns contributions into points. Ordered by coop (as given), then position.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    names = [c for c in contribs.columns if c != "bias"]
    values = contribs[names].to_numpy(dtype=float)
    rows = len(contribs)
    want, sign = (HARM, 1.0) if kind in ("risk",) else (HARM, -1.0) if kind == "recovery_hinders" else (HEALTHY, 1.0)
    signed_total = np.clip(sign * values, 0.0, None).sum(axis=1)  # every contribution of this sign, CONTEXT too

    where = {name: j for j, name in enumerate(names)}
    score = np.zeros((rows, len(FACT_KEYS)))
    lead_value = np.zeros((rows, len(FACT_KEYS)))
    lead_feature = np.full((rows, len(FACT_KEYS)), -1, dtype=np.int64)
    member_of: dict[str, list[tuple[str, np.ndarray]]] = {}
    for a in attributions(features, names):
        k = _KEY_AT[a.key]
        if kind == "risk" and FACT_GROUP[a.key] not in CLINICS:
            continue
        c = sign * values[:, where[a.feature]] * a.weight
        take = (a.state == want) & (c > 0)
        if not take.any():
            continue
        c = np.where(take, c, 0.0)
        score[:, k] += c
        better = c > lead_value[:, k]
        lead_value[:, k] = np.where(better, c, lead_value[:, k])
        lead_feature[:, k] = np.where(better, where[a.feature], lead_feature[:, k])
        member_of.setdefault(a.key, []).append((a.member, take))

    first = np.zeros(score.shape, dtype=bool)
    if kind == "risk" and clinic is not None:
        groups = np.asarray([FACT_GROUP[k] for k in FACT_KEYS], dtype=object)
        first = groups[None, :] == np.asarray(clinic, dtype=object)[:, None]
    # clinic's area first, then by size; a fact with nothing behind it is never a reason
    order = np.lexsort((-score, ~(first & (score > 0))), axis=1) if rows else np.zeros((0, 0), int)
    top = order[:, :n]
    top_score = np.take_along_axis(score, top, axis=1)
    p = np.full(rows, np.nan) if probability is None else np.asarray(probability, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = logit(np.clip(p, 1e-12, 1 - 1e-12))
        moved = p[:, None] - expit(log_odds[:, None] - sign * slope * top_score)
    # a reason moves its probability by half a point or more (where the probability is known)
    r, top_pos = np.nonzero((top_score > 0) & ~(np.abs(moved) < 0.005))
    keys, moved = top[r, top_pos], moved[r, top_pos]
    pos = np.arange(len(r)) - np.searchsorted(r, r)  # 0, 1, ... within each row (r is sorted)
    texts = []
    values = RowValues(features)
    for i, k in zip(r, keys):
        key = FACT_KEYS[k]
        members = {m for m, mask in member_of.get(key, ()) if mask[i]}
        texts.append(words(key, want, values.at(i), members))
    lead = lead_feature[r, keys]
    lead_names = np.asarray(names, dtype=object)[lead] if len(lead) else np.asarray([], dtype=object)
    lead_values = np.full(len(lead), np.nan)
    for j in np.unique(lead):  # a reason's leading feature is numeric (categorical ones name no fact)
        at = lead == j
        column = pd.to_numeric(features[names[j]], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        lead_values[at] = column[r[at]]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = top_score[r, top_pos] / signed_total[r]
    return pd.DataFrame(
        {
            "coop_id": contribs.index.to_numpy()[r],
            "position": pos + 1,
            "kind": kind,
            "fact": np.asarray(FACT_KEYS, dtype=object)[keys],
            "feature": lead_names,
            "value": lead_values,
            "contribution": sign * top_score[r, top_pos],
            "points": 100.0 * moved,
            "group": np.asarray([FACT_GROUP[FACT_KEYS[k]] for k in keys], dtype=object),
            "share": share,
            "label_id": [t[0] for t in texts],
            "label_en": [t[2] for t in texts],
            "text_id": [t[1] for t in texts],
            "text_en": [t[3] for t in texts],
        },
        columns=list(REASON_COLUMNS),
    )


def reasons_text(reasons: pd.DataFrame, coop_ids, *, lang: str = "id", kind: str = "risk") -> pd.Series:
    """One text cell per cooperative: "<reason> (+6 poin); <reason> (+3 poin)", in Indonesian or English.

    Only reasons of ``kind``, in the order of ``position``; the points are said when known (not for the risk
    reasons of a sick cooperative). A cooperative without any gets the "nothing stands out" words of its kind.
    """
    column = "text_id" if lang == "id" else "text_en"
    ids = pd.Index(coop_ids, name="coop_id")
    if "kind" in reasons:
        ordered = reasons.loc[reasons["kind"] == kind]
    else:  # reasons written before they had kinds are all risk reasons
        ordered = reasons if kind == "risk" else reasons.iloc[0:0]
    ordered = ordered.sort_values("position", kind="stable")
    pts = ordered["points"].to_numpy(dtype=float) if "points" in ordered else np.full(len(ordered), np.nan)
    parts = [text if np.isnan(pp) else f"{text} ({points_words(pp, lang)})" for text, pp in zip(ordered[column], pts)]
    cells: dict[str, list[str]] = {}
    for coop, part in zip(ordered["coop_id"], parts):
        cells.setdefault(coop, []).append(part)
    none = say(NO_REASON[kind], lang)
    joiner = say("reason.join", lang)
    out = [joiner.join(cells[c]) if c in cells else none for c in ids]
    return pd.Series(out, index=ids, name=f"reasons_{lang}", dtype="str")


def reasons_for(reasons: pd.DataFrame, coop_id: str) -> list[dict]:
    """The structured reasons of one cooperative (for the HTTP service): a list of REASON_FIELDS dicts."""
    rows = reasons.loc[reasons["coop_id"] == coop_id, list(REASON_FIELDS)]
    out = []
    for rec in rows.to_dict("records"):
        out.append({k: (None if _missing(v) else v.item() if hasattr(v, "item") else v) for k, v in rec.items()})
    return out


def _missing(v) -> bool:
    return isinstance(v, float) and np.isnan(v)
