"""What each page shows, assembled from the batch output (store.Output), the records (history) and the served
models' metadata: plain dictionaries and lists the templates lay out. No HTML here, and nothing is computed that
the batch job or the models already decided: the page reads their outputs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik import wording
from klinik.data.contract import SICK_CATEGORIES
from klinik.features.health_score import CATEGORY_CUTS, HEALTH_RULES
from klinik.models.reasons import NO_REASON
from klinik.serving.web import charts, fmt
from klinik.serving.web.history import CHARTED, missing_rat_years, series
from klinik.serving.web.text import (
    CASE_OUTCOME,
    CLINIC,
    HEALTH_CATEGORY,
    LISTS,
    action_label,
    label,
    status_code,
    status_label,
    t,
)

if TYPE_CHECKING:
    from klinik.serving.web.history import CoopHistory
    from klinik.serving.web.store import Output
    from klinik.settings import Settings

ACTION_ORDER = ("JANGKAU", "PANTAU", "BINA", "PANTAU_KETAT", "PERTIMBANGKAN_PEMBUBARAN")
LIST_OF_ACTION = {v[3]: k for k, v in LISTS.items()}
# each kind of reason under the heading of its workbook column
RECOVERY_KINDS = (("recovery_hinders", "col.hinders"), ("recovery_helps", "col.helps"))
PAGE_ROWS = 500  # rows of a list shown on the page; the sheet holds them all
HEALTHY_POINTS = 75.0  # a ratio is in its healthy range where the office's scoring table gives it this many points
CALIBRATED_ECE = 0.05  # a model whose chances are off by at most 5 points on average may be read at face value


def _finite(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and v is not pd.NA


def healthy_band(ratio: str) -> tuple[float, float] | None:
    """The range of a ratio (percent) that the office's scoring table rates at HEALTHY_POINTS or more."""
    for rule in HEALTH_RULES:
        if rule.ratio == ratio:
            lo, band = 0.0, []
            for upper, points in rule.bands:
                if points >= HEALTHY_POINTS:
                    band.append((lo, min(upper, 1000.0)))
                lo = upper
            if band:
                return band[0][0], band[-1][1]
    return None


def level(p: float, settings: Settings, kind: str) -> str:
    """high / mid / low for a chance, against the policy's own thresholds."""
    if not _finite(p):
        return ""
    if kind == "sick":
        hi, mid = settings.jangkau_threshold, settings.jangkau_threshold / 2
    else:  # for recovery a high chance is good news: the words follow the chance, the colour is the template's
        hi, mid = settings.bina_threshold, settings.closure_recover_threshold
    return "high" if p >= hi else "mid" if p >= mid else "low"


def home(out: Output | None, settings: Settings, lang: str) -> dict:
    if out is None:
        return {"output": None}
    m = out.manifest
    counts = out.scores["action"].value_counts()
    actions = [
        {
            "code": a,
            "label": action_label(a, lang),
            "count": int(counts.get(a, 0)),
            "list": LIST_OF_ACTION.get(a),
        }
        for a in ACTION_ORDER
    ]
    return {
        "output": out,
        "year": out.as_of_year,
        "date": fmt.date(m.get("finished_at"), lang),
        "scored": fmt.number(len(out.scores), lang),
        "office": settings.office_name,
        "data_dir": m.get("input", {}).get("dir", ""),
        "models": str(m.get("models", {}).get("model_version", "")),
        "actions": actions,
        "capacity": m.get("counts", {}).get("outreach_capacity"),
    }


def _result_row(out: Output, i: int, lang: str) -> dict:
    c = out.columns
    status = status_code(c["status"][i])
    sick = status == "SAKIT"
    p = c["p_recover"][i] if sick else c["p_sick_next"][i]
    return {
        "coop_id": c["coop_id"][i],
        "name": c["name"][i],
        "district": c["district"][i],
        "coop_type": c["coop_type"][i],
        "status": status,
        "chance": fmt.percent(p, lang),
        "chance_kind": t("p_recover_short" if sick else "p_sick_short", lang),
        "action": c["action"][i],
        "action_label": action_label(c["action"][i], lang),
        "rank": int(c["rank"][i]),
    }


def search(out: Output, query: str, district: str, coop_type: str, lang: str) -> dict:
    positions, total = out.index.find(query, district, coop_type)
    return {"rows": [_result_row(out, int(i), lang) for i in positions], "total": total, "shown": len(positions)}


def _reasons(out: Output, coop_id: str, sick: bool, lang: str) -> list[dict]:
    """The reasons of the batch output (models/reasons.py), in their order (the clinic's area first), as groups:
    why it is at risk, or for a sick cooperative why it fell sick, then what holds its recovery back and what
    helps it. Each reason says its fact against its yardstick, its area, and the percentage points it moves the
    chance shown (none for the causes of a sick cooperative)."""
    rows = [r for r in out.reasons.records(coop_id) if r.get("feature")]
    text_col = "text_id" if lang == "id" else "text_en"
    kinds = (("risk", "col.causes"), *RECOVERY_KINDS) if sick else (("risk", "col.reasons"),)
    widest = max([abs(r["points"]) for r in rows if _finite(r.get("points"))] or [1.0])
    groups = []
    for kind, title in kinds:
        items = [r for r in rows if r.get("kind", "risk") == kind]
        groups.append(
            {
                "kind": kind,
                "title": wording.say(title, lang),
                "none": wording.say(NO_REASON[kind], lang).capitalize() + ".",
                "rows": [
                    {
                        "text": r.get(text_col) or r.get("text_id"),
                        "group": label(CLINIC, r.get("group"), lang)
                        if r.get("group") in CLINIC
                        else t("group_CONTEXT", lang),
                        # in brackets, as the workbook and the report say them (the explanation reads so)
                        "points": f"({wording.points(r['points'], lang)})" if _finite(r.get("points")) else "",
                        "bar": charts.share_bar(abs(r["points"]) / widest) if _finite(r.get("points")) else "",
                    }
                    for r in items
                ],
            }
        )
    return groups


def _reasons_explain(sick: bool, lang: str) -> list[str]:
    """How the reasons are read: what the points are, why the clinic's area comes first."""
    if sick:
        return [t("reasons_sick_intro", lang), wording.say("reason.points_recovery_meaning", lang)]
    return [wording.say("reason.points_risk_meaning", lang), wording.say("reason.clinic_first", lang)]


def _charts(history: CoopHistory, lang: str) -> list[dict]:
    cuts = CATEGORY_CUTS
    out = [
        {
            "title": t("chart_health", lang),
            "svg": charts.line_chart(
                series(history.years, "health_score"),
                t("chart_health", lang),
                "score",
                lang,
                (cuts[1], 100.0),
                (0, 100),
            ),
        }
    ]
    for name, unit in CHARTED:
        title = t(f"chart_{name}", lang)
        band = healthy_band(name) if unit == "pct" else None
        out.append({"title": title, "svg": charts.line_chart(series(history.years, name), title, unit, lang, band)})
    return out


def _rat(history: CoopHistory, lang: str) -> dict:
    rows = []
    for r in history.rat:
        late = r["days_late_office"]
        rows.append(
            {
                "year": r["fiscal_year"],
                "held_on": fmt.date(r["held_on"], lang),
                "attendees": fmt.number(r["attendees"], lang) if r["attendees"] is not None else fmt.DASH,
                "on_time": late == 0,
                "late": t("rat_ok", lang) if late == 0 else t("rat_late_days", lang, days=fmt.number(late, lang)),
            }
        )
    first = max(history.founded_year or 0, int(history.years["year"].min())) if len(history.years) else None
    missing = missing_rat_years(history.rat, first, history.latest_year)
    return {"rows": rows, "missing": ", ".join(str(y) for y in missing)}


def _cases(history: CoopHistory, lang: str) -> list[dict]:
    return [
        {
            "clinic": label(CLINIC, c.get("clinic"), lang),
            "opened": fmt.date(c.get("opened_on"), lang),
            "closed": fmt.date(c.get("closed_on"), lang) if _finite(c.get("closed_on")) else t("case_open", lang),
            "outcome": label(CASE_OUTCOME, c.get("outcome"), lang),
        }
        for c in history.cases
    ]


def _changes(out: Output, s: dict, lang: str) -> dict | None:
    prev = out.previous
    if prev is None:
        return None
    if s["coop_id"] not in prev.index:
        return {"new": True}
    p = prev.loc[s["coop_id"]]
    rows = []
    for key, before, now, kind in (
        ("status", p["status"], s["status"], "status"),
        ("chance_sick", p["p_sick_next"], s["p_sick_next"], "pct"),
        ("chance_recover", p["p_recover"], s["p_recover"], "pct"),
        ("recommendation", p["action"], s["action"], "action"),
        ("clinic_for", p["clinic"], s["clinic"], "clinic"),
    ):
        if kind == "pct" and not (_finite(before) or _finite(now)):
            continue
        show = {
            "status": lambda v: status_label(v, lang),
            "pct": lambda v: fmt.percent(v, lang),
            "action": lambda v: action_label(v, lang),
            "clinic": lambda v: label(CLINIC, v, lang),
        }[kind]
        changed = (
            (fmt.percent(before) != fmt.percent(now)) if kind == "pct" else status_code(before) != status_code(now)
        )
        rows.append({"what": t(key, lang), "before": show(before), "now": show(now), "changed": changed})
    return {"new": False, "rows": rows, "year": out.as_of_year - 1}


def profile(out: Output, coop_id: str, history: CoopHistory | None, history_problem: str | None, settings, lang):
    found = out.row(coop_id)
    if found is None:
        return None
    s, e = found
    status = status_code(s["status"])
    sick = status == "SAKIT"
    p = s["p_recover"] if sick else s["p_sick_next"]
    kind = "recover" if sick else "sick"
    lo_col, hi_col = ("p_recover_lo", "p_recover_hi") if sick else ("p_sick_next_lo", "p_sick_next_hi")
    interval = wording.interval_range(s.get(lo_col), s.get(hi_col), lang) or None
    certainty = e.get("certainty" if lang == "id" else "certainty_en")
    view = {
        "s": s,
        "e": e,
        "status": status,
        "sick": sick,
        "chance": fmt.percent(p, lang),
        "chance_title": t("chance_recover" if sick else "chance_sick", lang),
        "chance_words": t(f"chance_words_{kind}", lang, words=fmt.in_ten(p, lang).capitalize()) if _finite(p) else "",
        "level": level(p, settings, kind),
        "interval": interval,
        "certainty": certainty if isinstance(certainty, str) and certainty else None,
        "action_label": action_label(s["action"], lang),
        "list": LIST_OF_ACTION.get(s["action"]),
        "clinic": label(CLINIC, s["clinic"], lang),
        "rank": int(s["rank"]) if _finite(s.get("rank")) and not sick else None,
        "health_score": fmt.number(e.get("health_score"), lang, digits=1),
        "health_category": label(HEALTH_CATEGORY, e.get("health_category"), lang),
        "health_year": int(e["health_year"]) if _finite(e.get("health_year")) else None,
        "years_sick": int(e["years_sick"]) if _finite(e.get("years_sick")) and e["years_sick"] > 0 else None,
        "reasons": _reasons(out, coop_id, sick, lang),
        "reasons_explain": _reasons_explain(sick, lang),
        "clinic_basis": e.get("clinic_basis" if lang == "id" else "clinic_basis_en") or "",
        "changes": _changes(out, s, lang),
        "history": None,
        "history_problem": history_problem,
        "models": str(s.get("model_version", "")),
        "run_date": fmt.date(out.manifest.get("finished_at"), lang),
        "data_dir": out.manifest.get("input", {}).get("dir", ""),
    }
    if history is not None:
        view["history"] = {
            "charts": _charts(history, lang),
            "rat": _rat(history, lang),
            "cases": _cases(history, lang),
            "founded": history.founded_year,
            "dissolved": history.dissolved_year,
        }
    return view


# ---------------------------------------------------------------- lists
def list_rows(
    out: Output, slug: str, district: str, coop_type: str, clinic: str, sort: str, desc: bool, lang: str = "id"
):
    """The list's rows (the workbook's sheet, its cells in ``lang``) after the filters and the chosen order;
    (frame, rows before filters)."""
    sheet = LISTS[slug][0]
    frame = out.lists_in(lang)[sheet]
    total = len(frame)
    keep = np.ones(total, dtype=bool)
    if district:
        keep &= (frame[wording.say("col.district")] == district).to_numpy()
    if coop_type:
        keep &= (frame[wording.say("col.coop_type")] == coop_type).to_numpy()
    if clinic:
        keep &= (frame[wording.say("col.clinic")] == label(CLINIC, clinic, lang)).to_numpy()
    frame = frame.loc[keep]
    if sort in frame.columns:
        frame = frame.sort_values(sort, ascending=not desc, kind="stable", na_position="last")
    return frame, total


def cell(col: str, value, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return fmt.DASH
    if col.startswith("Peluang"):
        return fmt.percent(value, lang)
    if isinstance(value, (float, np.floating)):
        return fmt.number(value, lang, digits=1)
    if isinstance(value, (int, np.integer)):
        return fmt.number(value, lang)
    return str(value)


def next_to_call(out: Output, lang: str) -> tuple[list[dict], int | None]:
    """After the JANGKAU list, the next healthy cooperatives in outreach order, up to the clinic's capacity: the
    workbook's "next to call" sheet (serving.excel.list_frames)."""
    capacity = out.manifest.get("counts", {}).get("outreach_capacity")
    frame = out.lists.get(wording.say("sheet.next"))
    if frame is None or frame.empty:
        return [], capacity
    ids = frame[wording.say("col.coop_id")].astype(str)
    return [_result_row(out, out.position[c], lang) for c in ids if c in out.position], capacity


# ---------------------------------------------------------------- the model page
def model_words(task: str, info: dict, lang: str) -> list[str]:
    """The holdout figures of one served model in plain sentences."""
    m = info.get("metrics") or {}
    event = t("event_sick" if task == "risk" else "event_recover", lang)
    words = []
    if _finite(m.get("roc_auc")):
        words.append(t("roc_words", lang, event=event, pct=fmt.percent(m["roc_auc"], lang, digits=0)))
    if _finite(m.get("precision_at_k")):
        n = round(float(m["precision_at_k"]) * 10)
        words.append(t(f"precision_words_{'risk' if task == 'risk' else 'recovery'}", lang, n=n))
    if _finite(m.get("recall_at_k")):
        words.append(t("recall_words", lang, pct=fmt.percent(m["recall_at_k"], lang, digits=0), event=event))
    if _finite(m.get("ece")):
        points = fmt.number(float(m["ece"]) * 100, lang, digits=1)
        good = float(m["ece"]) <= CALIBRATED_ECE
        key = f"calibration_good_{'risk' if task == 'risk' else 'recovery'}" if good else "calibration_rough"
        words.append(t(key, lang, points=points))
    return words


def watch(manifest: dict, lang: str) -> dict | None:
    """Whether retraining is advised, and whether this year's data moved from the training data, as the batch run
    recorded them (the manifest's ``performance`` and ``input_drift``, serving/drift.py); None when neither was
    measured."""
    from klinik.features.catalog import feature_label

    words, advised = [], False
    perf = manifest.get("performance")
    if perf:
        now, then = perf["last_year"], perf.get("holdout_at_registration", {})
        values = {
            "year": perf["year"],
            "now": fmt.number(now["roc_auc"], lang, digits=3),
            "then": fmt.number(then.get("roc_auc"), lang, digits=3),
            "margin": fmt.number(perf["margin"], lang, digits=2),
            "hits": fmt.number(now["hits"], lang),
            "k": fmt.number(now["k"], lang),
        }
        advised = bool(perf["retraining_advised"])
        words.append(t("watch_why" if advised else "watch_fine", lang, **values))
    drift = manifest.get("input_drift") or {}
    if drift.get("measured"):
        moved = [row["feature"] for row in drift.get("most_moved", []) if row.get("moved")]
        names = [feature_label(f, lang) for f in moved]
        words.append(t("watch_drift", lang, features=", ".join(names)) if names else t("watch_no_drift", lang))
    return {"advised": advised, "words": words} if words else None


def backtest(out: Output, lang: str) -> dict | None:
    """Last year's predictions of falling sick against this year's assessments (see the template's wording).

    Counted: the cooperatives not sick in last year's run that were assessed in this year (their health year is
    this run's year); sick = assessed DALAM_PENGAWASAN or worse. Cooperatives of last year's run missing from this
    one were dissolved (or deregistered) and are counted apart.
    """
    prev = out.previous
    if prev is None:
        return None
    year = out.as_of_year
    before = prev.loc[prev["status"].map(status_code) != "SAKIT"]
    before = before.loc[before["p_sick_next"].notna()]
    ev = out.evidence.set_index(out.evidence["coop_id"].astype(str))
    present = before.index.isin(ev.index)
    gone = int((~present).sum())
    before = before.loc[present]
    facts = ev.loc[before.index]
    assessed = (facts["health_year"] == year).to_numpy()
    sick = facts["health_category"].isin(SICK_CATEGORIES).to_numpy() & assessed
    frame = pd.DataFrame(
        {"p": before["p_sick_next"].to_numpy(), "sick": sick, "jangkau": (before["action"] == "JANGKAU").to_numpy()}
    ).loc[assessed]
    if frame.empty:
        return None
    bands = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 1.01)]
    rows = []
    for lo, hi in bands:
        g = frame.loc[(frame["p"] >= lo) & (frame["p"] < hi)]
        if g.empty:
            continue
        name = f"{fmt.percent(lo, lang, 0)} – {fmt.percent(min(hi, 1.0), lang, 0)}"
        rows.append(
            {
                "group": name,
                "count": fmt.number(len(g), lang),
                "predicted": fmt.percent(g["p"].mean(), lang),
                "sick": fmt.number(int(g["sick"].sum()), lang),
                "rate": fmt.percent(g["sick"].mean(), lang),
            }
        )
    j = frame.loc[frame["jangkau"]]
    return {
        "year": year - 1,
        "next": year,
        "rows": rows,
        "jangkau": None
        if j.empty
        else t("bt_jangkau", lang, n=len(j), sick=int(j["sick"].sum()), pct=fmt.percent(j["sick"].mean(), lang)),
        "all": t(
            "bt_all", lang, n=len(frame), sick=int(frame["sick"].sum()), pct=fmt.percent(frame["sick"].mean(), lang)
        ),
        "gone": t("bt_gone", lang, n=gone) if gone else None,
    }
