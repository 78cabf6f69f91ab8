"""The one-page HTML report of a scoring run: pictures and short lists, for a person who would rather look than read.

Self-contained (PNG images embedded as base64, CSS inline), so it can be mailed, opened from a USB stick, or printed
on A4 (print CSS: headings stay with what follows, table rows are never cut, a long table repeats its header). It
says whose it is and what it rests on (office, date of the run, data, models), then shows: how the chances are
spread (axes in words and percent, threshold lines labelled), sick and to-reach cooperatives per kecamatan and type
with their rates beside the counts, the most common reasons (labels that say the value), the recommendations by
clinic, the top of the outreach list, the sick cooperatives by name in their lists with what holds their recovery
back, -- when outcomes exist -- how last year's predictions turned out, and whether the model still fits (the inputs
that moved most since its training years, retraining advised or not: serving/drift.py).

All words come from klinik/wording.py in one language (Indonesian by default: numbers with a decimal comma).
Figures are drawn with matplotlib's Figure API (Agg canvas), which touches no global pyplot state.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik.data.contract import STATUS_BELUM_DINILAI, STATUS_SAKIT, STATUS_SEHAT
from klinik.features.catalog import feature_label
from klinik.models.policy import ACTION_LABELS
from klinik.serving.backtest import Backtest, evaluate
from klinik.wording import chance, date_words, interval_range, label, number, percent, say

if TYPE_CHECKING:
    from klinik.serving.decisions_io import DecisionReview
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

COLORS = {
    "sick": "#c0392b",
    "jangkau": "#e67e22",
    "above": "#f5cba7",
    "rest": "#d5dbdb",
    "KEUANGAN": "#2e86c1",
    "SDM": "#28b463",
    "KELEMBAGAAN": "#8e44ad",
}
SICK_ACTIONS = {"BINA": "#27ae60", "PANTAU_KETAT": "#f1c40f", "PERTIMBANGKAN_PEMBUBARAN": "#7f8c8d"}
MAX_BARS = 25
TOP_OUTREACH = 10  # rows of the outreach list shown (the CLI prints as many)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _percent_axis(axis, lang: str, step: float = 0.1) -> None:
    """Ticks of a 0..1 axis as percents in the language's notation (0%, 10%, ...)."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    axis.set_major_locator(MultipleLocator(step))
    axis.set_major_formatter(FuncFormatter(lambda v, _: chance(v, lang)))


def _count_axis(axis, lang: str) -> None:
    """Whole cooperatives only: integer ticks, in the language's notation."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _: number(v, 0, lang)))


def _threshold(ax, x: float, text: str, style: str) -> None:
    """A vertical threshold line with its words beside it (and in the legend)."""
    ax.axvline(x, color="black", ls=style, lw=1, label=text)
    ax.annotate(
        text,
        xy=(x, 1),
        xycoords=("data", "axes fraction"),
        xytext=(3, -3),
        textcoords="offset points",
        va="top",
        ha="left",
        fontsize=8,
        rotation=90,
    )


def distribution_figure(scores: pd.DataFrame, settings: Settings, lang: str):
    """How the chances are spread: the not sick by p_sick_next, the sick by p_recover, with the thresholds."""
    fig = _figure(10, 3.6)
    left, right = fig.subplots(1, 2)
    bins = np.linspace(0, 1, 41)
    healthy = scores.loc[scores["status"] != STATUS_SAKIT, "p_sick_next"].dropna()
    jangkau = scores.loc[scores["action"] == "JANGKAU", "p_sick_next"]
    left.hist(healthy, bins=bins, color=COLORS["rest"], label=say("chart.not_sick", lang))
    left.hist(jangkau, bins=bins, color=COLORS["jangkau"], label=say("chart.jangkau", lang))
    sick = scores.loc[scores["status"] == STATUS_SAKIT]
    right.hist(
        [sick.loc[sick["action"] == a, "p_recover"].to_numpy() for a in SICK_ACTIONS],
        bins=bins,
        stacked=True,
        color=list(SICK_ACTIONS.values()),
        label=[label("action", a, lang) for a in SICK_ACTIONS],
    )
    lines = (
        (left, settings.jangkau_threshold, "chart.threshold_jangkau", "--"),
        (right, settings.bina_threshold, "chart.threshold_bina", "--"),
        (right, settings.closure_recover_threshold, "chart.threshold_closure", ":"),
    )
    for ax, at, words, style in lines:
        _threshold(ax, at, say(words, lang, value=chance(at, lang)), style)
    for ax, what in ((left, "p_sick"), (right, "p_recover")):
        ax.set(
            title=say(f"chart.{what}_title", lang),
            xlabel=say(f"chart.{what}_axis", lang),
            ylabel=say("chart.coops_axis", lang),
            xlim=(0, 1),
        )
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    for ax in (left, right):
        _percent_axis(ax.xaxis, lang)
        _count_axis(ax.yaxis, lang)
        ax.tick_params(axis="x", labelsize=8)
    return fig


def place_table(joined: pd.DataFrame, column: str, settings: Settings) -> pd.DataFrame:
    """Per kecamatan (or type): cooperatives, sick now, JANGKAU, at risk beyond capacity, and the rates."""
    parts = (
        pd.DataFrame(
            {
                "sick": joined["status"] == STATUS_SAKIT,
                "jangkau": joined["action"] == "JANGKAU",
                "above": (joined["action"] == "PANTAU") & (joined["p_sick_next"] >= settings.jangkau_threshold),
            }
        )
        .groupby(joined[column])
        .sum()
    )
    parts["coops"] = joined.groupby(column).size()
    parts["rest"] = parts["coops"] - parts[["sick", "jangkau", "above"]].sum(axis=1)
    parts["sick_rate"] = parts["sick"] / parts["coops"]
    parts["jangkau_rate"] = parts["jangkau"] / parts["coops"]
    parts["work_rate"] = (parts["sick"] + parts["jangkau"]) / parts["coops"]
    return parts.sort_values(["work_rate", "coops"], ascending=False)


def place_figure(parts: pd.DataFrame, title: str, lang: str):
    """Cooperatives per kecamatan (or type), sick and to reach in colour, the rate at the end of each bar."""
    if len(parts) > MAX_BARS:  # a whole country has thousands of kecamatan: show where the work is
        title += f" ({say('chart.top_of', lang, n=MAX_BARS, total=len(parts))})"
        parts = parts.nlargest(MAX_BARS, ["work_rate", "coops"])
    parts = parts.iloc[::-1]  # the highest rate at the top
    fig = _figure(8, 0.38 * len(parts) + 1.4)
    ax = fig.subplots()
    left = np.zeros(len(parts))
    kinds = (
        ("sick", COLORS["sick"], "chart.sick_now"),
        ("jangkau", COLORS["jangkau"], "chart.jangkau"),
        ("above", COLORS["above"], "chart.at_risk_over"),
        ("rest", COLORS["rest"], "chart.others"),
    )
    names = parts.index.astype(str)
    for column, color, words in kinds:
        ax.barh(names, parts[column], left=left, color=color, label=say(words, lang))
        left += parts[column].to_numpy()
    for y, (total, rate) in enumerate(zip(parts["coops"], parts["work_rate"])):
        ax.annotate(
            say("chart.share_label", lang, share=chance(rate, lang)),
            xy=(total, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set(title=title, xlabel=say("chart.coops_axis", lang), xlim=(0, float(parts["coops"].max()) * 1.35))
    _count_axis(ax.xaxis, lang)
    fig.legend(fontsize=8, loc="outside lower center", ncols=4)
    return fig


def _place_html(parts: pd.DataFrame, what: str, lang: str) -> str:
    rows = [
        [
            str(name),
            number(r.coops, 0, lang),
            number(r.sick, 0, lang),
            chance(r.sick_rate, lang),
            number(r.jangkau, 0, lang),
            chance(r.jangkau_rate, lang),
        ]
        for name, r in parts.iterrows()
    ]
    head = [what, say("chart.coops_axis", lang), say("chart.sick_now", lang), "%", say("chart.jangkau", lang), "%"]
    return _table(head, rows, numeric=range(1, 6))


def reason_counts(reasons: pd.DataFrame, scores: pd.DataFrame, lang: str, n: int = 12) -> pd.Series:
    """How often each fact is among the risk reasons of the cooperatives on the clinic's lists (JANGKAU and the
    sick: the ones a person will look at; all cooperatives when the lists are empty), by (label, area), the
    most frequent ``n``, fewest first. Labels say what the value is ("RAT tidak diadakan"), never a measure's
    name."""
    reasons = reasons.loc[reasons["kind"] == "risk"]
    listed = scores.loc[scores["action"] != "PANTAU", "coop_id"]
    if len(listed):
        reasons = reasons.loc[reasons["coop_id"].isin(listed)]
    column = "label_id" if lang == "id" else "label_en"
    return reasons.groupby([column, "group"]).size().sort_values(kind="stable").tail(n)


def reasons_figure(counts: pd.Series, lang: str):
    from matplotlib.patches import Patch

    fig = _figure(8, 0.38 * len(counts) + 1.4)
    ax = fig.subplots()
    ax.barh([t for t, _ in counts.index], counts.to_numpy(), color=[COLORS.get(g, "#95a5a6") for _, g in counts.index])
    ax.set(title=say("report.h_reasons", lang), xlabel=say("chart.reasons_axis", lang))
    _count_axis(ax.xaxis, lang)
    handles = [Patch(color=COLORS[g], label=label("clinic", g, lang)) for g in ("KEUANGAN", "SDM", "KELEMBAGAAN")]
    fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncols=3)
    return fig


def _reasons_html(counts: pd.Series, lang: str) -> str:
    if counts.empty:
        return _empty(lang)
    head = [say("report.h_reasons", lang), say("col.clinic", lang), say("chart.coops_axis", lang)]
    rows = [[text, label("clinic", g, lang), number(n, 0, lang)] for (text, g), n in counts.iloc[::-1].items()]
    return _img(_png(reasons_figure(counts, lang)), say("report.h_reasons", lang)) + _table(head, rows, numeric=(2,))


def calibration_figure(backtest: Backtest, lang: str):
    f = backtest.frame
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(f["p_sick_next"], bins) - 1, 0, 9)
    table = f.groupby(which).agg(pred=("p_sick_next", "mean"), obs=("outcome", "mean"), n=("outcome", "size"))
    fig = _figure(4.8, 4.4)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="gray", ls="--", lw=1, label=say("chart.calibration_perfect", lang))
    ax.scatter(
        table["pred"],
        table["obs"],
        s=20 + 200 * table["n"] / table["n"].max(),
        color=COLORS["jangkau"],
        label=say("chart.calibration_bins", lang),
    )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel=say("chart.calibration_x", lang),
        ylabel=say("chart.calibration_y", lang),
        title=say("chart.calibration_title", lang, year=backtest.year, next=backtest.year + 1),
    )
    for axis in (ax.xaxis, ax.yaxis):
        _percent_axis(axis, lang, step=0.2)
    ax.legend(fontsize=8)
    return fig


def _cell(value) -> str:
    """A cell's HTML: text, or (text, note) with the note small beneath it."""
    if isinstance(value, tuple):
        return f"{html.escape(str(value[0]))}<br><small>{html.escape(str(value[1]))}</small>"
    return html.escape(str(value))


def _table(
    head: list[str], rows: list[list], numeric=(), css: str = "", widths: tuple[int, ...] = (), breaks: bool = False
) -> str:
    """A table; ``numeric`` columns right-aligned, an id (KOP-000120) never broken; ``widths``: each column's
    share of the width in percent (a fixed layout that fits the page). On paper a table stays whole unless it is
    long or ``breaks`` (rows of long reasons): then it breaks between rows and repeats its header."""
    numeric = set(numeric)
    keys = {j for j, h in enumerate(head) if h == say("col.coop_id", "id") or h == say("col.coop_id", "en")}

    def cls(j: int) -> str:
        names = [*(["num"] if j in numeric else []), *(["key"] if j in keys else [])]
        return f' class="{" ".join(names)}"' if names else ""

    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    th = "".join(f"<th{cls(j)}>{html.escape(h)}</th>" for j, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(j)}>{_cell(v)}</td>" for j, v in enumerate(row)) + "</tr>" for row in rows
    )
    long = breaks or len(rows) > 20
    classes = " ".join(c for c in (css, "long" if long else "", "fixed" if widths else "") if c)
    colgroup = f"<colgroup>{cols}</colgroup>" if cols else ""
    return f'<table class="{classes}">{colgroup}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _img(src: str | None, alt: str) -> str:
    return "" if src is None else f'<img src="{src}" alt="{html.escape(alt)}">'


def _empty(lang: str) -> str:
    return f'<p class="empty">{html.escape(say("report.empty_list", lang))}</p>'


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.office{font-size:1.15em;margin:0 0 .3em}.meta{color:#444;margin-top:0}
.note{background:#fff4e5;border-left:4px solid #e67e22;padding:.6em 1em}
.explain{color:#444;font-size:.9em}.empty{font-style:italic}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#f4f6f7;padding:.6em 1em;border-radius:6px}
.card b{display:block;font-size:1.5em}img{max-width:100%}table{border-collapse:collapse;font-size:.9em;margin:.4em 0}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#eaf2f8}
td.num,th.num{text-align:right}td.key{white-space:nowrap}table.fixed{table-layout:fixed;width:100%}
td small{color:#555}
section{margin-bottom:1em}
@page{size:A4 landscape;margin:12mm 12mm}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:9.5pt}table{font-size:8.5pt}
 h1,h2,h3{break-after:avoid;page-break-after:avoid}
 h2+p.explain,h3+p.explain{break-after:avoid;page-break-after:avoid}
 section{break-inside:avoid;page-break-inside:avoid}
 section.flow{break-inside:auto;page-break-inside:auto}
 section.newpage{break-before:page;page-break-before:always}
 table{break-inside:avoid;page-break-inside:avoid}
 table.long{break-inside:auto;page-break-inside:auto}
 thead{display:table-header-group}tr,img{break-inside:avoid;page-break-inside:avoid}
 img{max-height:240mm}.card{border:1px solid #ccc}
}"""


def _section(heading: str, *body: str, level: int = 2, flow: bool = False, new_page: bool = False) -> str:
    """A heading kept together with what follows it (on paper too); ``flow``: long, may break between table rows;
    ``new_page``: on paper, a list that begins a page of its own."""
    classes = " ".join(c for c in ("flow" if flow else "", "newpage" if new_page else "") if c)
    cls = f' class="{classes}"' if classes else ""
    return f"<section{cls}><h{level}>{html.escape(heading)}</h{level}>" + "".join(body) + "</section>"


def _reason_cells(result: ScoreResult, ids, kind: str, lang: str) -> pd.Series:
    from klinik.models.reasons import reasons_text

    return reasons_text(result.reasons, ids, lang=lang, kind=kind)


def _outreach(joined: pd.DataFrame, result: ScoreResult, settings: Settings, lang: str) -> str:
    top = joined.loc[joined["status"] != STATUS_SAKIT].sort_values("rank").head(TOP_OUTREACH)
    n_jangkau = int((joined["action"] == "JANGKAU").sum())
    heading = say("report.h_outreach", lang, n=len(top))
    if top.empty:
        return _section(heading, _empty(lang))
    reasons = _reason_cells(result, top["coop_id"], "risk", lang)
    basis = "clinic_basis" if lang == "id" else "clinic_basis_en"
    rows = [
        [
            number(r["rank"], 0, lang),
            r["coop_id"],
            r["name"],
            r["district"],
            _chance_cell(r, "p_sick_next", lang),
            label("action", r["action"], lang),
            (label("clinic", r["clinic"], lang), r[basis]),
            reasons[r["coop_id"]],
        ]
        for _, r in top.iterrows()
    ]
    head = [say(f"col.{c}", lang) for c in ("rank", "coop_id", "name", "district", "p_sick_next", "action", "clinic")]
    head.append(say("col.reasons", lang))
    note = say(
        "report.outreach_note",
        lang,
        jangkau=n_jangkau,
        threshold=chance(settings.jangkau_threshold, lang),
        capacity=result.capacity if result.capacity is not None else "-",
    )
    explain = " ".join(say(k, lang) for k in ("reason.points_risk_meaning", "reason.clinic_first", "interval.meaning"))
    return _section(
        heading,
        f"<p>{html.escape(note)}</p>",
        _table(head, rows, numeric=(0, 4), css="reasons", widths=(5, 10, 12, 9, 7, 9, 13, 35), breaks=True),
        f'<p class="explain">{html.escape(explain)}</p>',
        flow=True,
        new_page=True,
    )


def _sick_lists(joined: pd.DataFrame, result: ScoreResult, lang: str) -> str:
    sick = joined.loc[joined["status"] == STATUS_SAKIT]
    parts = [f'<p class="explain">{html.escape(say("report.sick_note", lang))}</p>']
    ids = sick["coop_id"]
    causes = _reason_cells(result, ids, "risk", lang)
    hinders = _reason_cells(result, ids, "recovery_hinders", lang)
    helps = _reason_cells(result, ids, "recovery_helps", lang)
    head = [say(f"col.{c}", lang) for c in ("coop_id", "name", "clinic", "p_recover", "years_sick")]
    head += [say("col.causes", lang), say("col.hinders", lang), say("col.helps", lang)]
    basis = "clinic_basis" if lang == "id" else "clinic_basis_en"
    widths = (9, 12, 11, 13, 5, 18, 14, 18)
    for action in SICK_ACTIONS:
        rows = sick.loc[sick["action"] == action].sort_values(["clinic", "rank"])
        title = f"{label('action', action, lang)} ({number(len(rows), 0, lang)})"
        if rows.empty:
            parts.append(_section(title, _empty(lang), level=3))
            continue
        body = [
            [
                r["coop_id"],
                (r["name"], r["district"]),
                (label("clinic", r["clinic"], lang), r[basis]),
                _chance_cell(r, "p_recover", lang, r["certainty" if lang == "id" else "certainty_en"]),
                "" if pd.isna(r["years_sick"]) else number(r["years_sick"], 0, lang),
                causes[r["coop_id"]],
                hinders[r["coop_id"]],
                helps[r["coop_id"]],
            ]
            for _, r in rows.iterrows()
        ]
        table = _table(head, body, numeric=(3, 4), css="sick", widths=widths, breaks=True)
        parts.append(_section(title, table, level=3, flow=True))
    explain = f"{say('reason.points_recovery_meaning', lang)} {say('interval.meaning', lang)}"
    parts.append(f'<p class="explain">{html.escape(explain)}</p>')
    return _section(say("report.h_sick", lang, n=number(len(sick), 0, lang)), *parts, flow=True, new_page=True)


def _chance_cell(row, column: str, lang: str, note=None):
    """A chance with its 80% range beneath it (and, for p_recover, the advice when the range straddles a line);
    the chance alone where the output has no range."""
    below = [interval_range(row.get(f"{column}_lo"), row.get(f"{column}_hi"), lang)]
    if isinstance(note, str) and note:
        below.append(note)
    below = " ".join(b for b in below if b)
    return (chance(row[column], lang), below) if below else chance(row[column], lang)


def _clinic_table(scores: pd.DataFrame, lang: str) -> str:
    table = pd.crosstab(scores["clinic"], scores["action"]).reindex(columns=list(ACTION_LABELS), fill_value=0)
    head = [say("col.clinic", lang), *(label("action", a, lang) for a in ACTION_LABELS)]
    rows = [[label("clinic", c, lang), *(number(v, 0, lang) for v in table.loc[c])] for c in table.index]
    return _table(head, rows, numeric=range(1, len(head)))


def render(
    result: ScoreResult,
    settings: Settings,
    backtest: Backtest | None = None,
    review: DecisionReview | None = None,
    lang: str = "id",
    watch: dict | None = None,
) -> str:
    """The report as one HTML string, in ``lang`` (``review``: last year's decisions, serving/decisions_io.py;
    ``watch``: the manifest's ``input_drift`` and ``performance``, serving/drift.py)."""
    scores = result.scores
    joined = scores.merge(result.evidence, on="coop_id", how="left")
    counts = scores["action"].value_counts()
    cards = [
        (say("report.card_scored", lang), len(scores)),
        (say("report.card_sick", lang), int((scores["status"] == STATUS_SAKIT).sum())),
        (say("report.card_unassessed", lang), int((scores["status"] == STATUS_BELUM_DINILAI).sum())),
        *[(label("action", a, lang), int(counts.get(a, 0))) for a in ACTION_LABELS],
    ]
    card_html = "".join(f'<div class="card"><b>{number(v, 0, lang)}</b>{html.escape(k)}</div>' for k, v in cards)
    meta = say(
        "report.meta",
        lang,
        office=settings.office_name,
        run_date=date_words(dt.date.today(), lang),
        source=result.source or "-",
        year=result.as_of_year,
        models=result.model_version,
    )
    by_district = place_table(joined, "district", settings)
    by_type = place_table(joined, "coop_type", settings)
    parts = [
        f"<h1>{html.escape(say('report.title', lang, year=result.as_of_year))}</h1>",
        f'<p class="office">{html.escape(settings.office_name)}</p>',
        f'<p class="meta">{html.escape(meta)}</p>',
        f'<p class="note">{html.escape(say("disclaimer", lang))}</p>',
        f'<div class="cards">{card_html}</div>',
        _section(
            say("report.h_distribution", lang),
            _img(_png(distribution_figure(scores, settings, lang)), say("report.h_distribution", lang)),
        ),
        _section(
            say("report.h_by_place", lang),
            f'<p class="explain">{html.escape(say("report.by_place_note", lang))}</p>',
            _img(_png(place_figure(by_district, say("chart.by_district", lang), lang)), say("chart.by_district", lang)),
            _place_html(by_district, say("col.district", lang), lang),
        ),
        _section(
            say("chart.by_type", lang),
            _img(_png(place_figure(by_type, say("chart.by_type", lang), lang)), say("chart.by_type", lang)),
            _place_html(by_type, say("col.coop_type", lang), lang),
            level=3,
        ),
        _section(
            say("report.h_reasons", lang),
            f'<p class="explain">{html.escape(say("report.reasons_note", lang))}</p>',
            _reasons_html(reason_counts(result.reasons, scores, lang), lang),
        ),
        _section(say("report.h_clinic", lang), _clinic_table(scores, lang)),
        _outreach(joined, result, settings, lang),
        _sick_lists(joined, result, lang),
        _section(say("report.h_backtest", lang), _backtest_html(backtest, result.capacity or 0, lang)),
        _section(say("report.h_review", lang), _review_html(review, result.as_of_year, lang)),
        _section(say("report.h_watch", lang), _watch_html(watch or {}, lang)),
        f"<p><small>{html.escape(say('report.footer', lang))}</small></p>",
    ]
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>Klinik Koperasi {result.as_of_year}</title><style>{CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )


def _backtest_html(backtest: Backtest | None, k: int, lang: str) -> str:
    if backtest is None or backtest.frame.empty:
        return f"<p>{html.escape(say('report.no_backtest', lang))}</p>"
    m = evaluate(backtest, k)
    source = say(
        "report.backtest_this_run" if backtest.source.startswith("this run") else "report.backtest_earlier", lang
    )
    text = say(
        "report.backtest",
        lang,
        year=backtest.year,
        source=source,
        models=backtest.model_version,
        next=backtest.year + 1,
        n=number(m["n"], 0, lang),
        positives=number(m["positives"], 0, lang),
        base_rate=chance(m["base_rate"], lang, 1),
        k=number(m["k"], 0, lang),
        hits=number(m["hits"], 0, lang),
        precision=chance(m["precision_at_k"], lang),
        recall=chance(m["recall_at_k"], lang),
        brier=number(m["brier"], 3, lang),
    )
    return f"<p>{html.escape(text)}</p>" + _img(
        _png(calibration_figure(backtest, lang)), say("report.h_backtest", lang)
    )


def _watch_html(watch: dict, lang: str) -> str:
    """Retraining advised or not (last year's figures beside the holdout's), and the inputs that moved most."""
    parts = []
    perf = watch.get("performance")
    if perf:
        now, then = perf["last_year"], perf["holdout_at_registration"]
        advice = "report.watch_advised" if perf["retraining_advised"] else "report.watch_fine"
        parts.append(f'<p class="note">{html.escape(say(advice, lang, margin=number(perf["margin"], 2, lang)))}</p>')
        figures = say(
            "report.watch_figures",
            lang,
            year=perf["year"],
            now=number(now["roc_auc"], 3, lang),
            then=number(then.get("roc_auc", float("nan")), 3, lang),
            ece=number(now["ece"], 3, lang),
            ece_then=number(then.get("ece", float("nan")), 3, lang),
            hits=number(now["hits"], 0, lang),
            k=number(now["k"], 0, lang),
        )
        parts.append(f"<p>{html.escape(figures)}</p>")
    drift = watch.get("input_drift") or {}
    if drift.get("measured"):
        moved = [feature_label(row["feature"], lang) for row in drift["most_moved"] if row["moved"]]
        words = say("report.watch_moved", lang, features=", ".join(moved)) if moved else say("report.watch_still", lang)
        parts.append(f"<p>{html.escape(words)}</p>")
        head = [
            say("report.watch_col_feature", lang),
            say("report.watch_col_psi", lang),
            say("report.watch_col_missing_train", lang),
            say("report.watch_col_missing_now", lang),
            say("report.watch_col_unseen", lang),
        ]
        rows = [
            [feature_label(r["feature"], lang), number(r["psi"], 2, lang), percent(100 * r["missing_train"], lang),
             percent(100 * r["missing_now"], lang), percent(100 * r["unknown_share"], lang)]
            for r in drift["most_moved"]
        ]  # fmt: skip
        parts.append(_table(head, rows, numeric=range(1, 5)))
        parts.append(f'<p class="explain">{html.escape(say("report.watch_file", lang, file=drift["file"]))}</p>')
    return "".join(parts) or f"<p>{html.escape(say('report.watch_none', lang))}</p>"


def _review_html(review: DecisionReview | None, as_of_year: int, lang: str) -> str:
    """Last year's decisions beside what became of the cooperatives (serving/decisions_io.review_last_year)."""
    from klinik.serving.decisions import CHOICES
    from klinik.serving.decisions_io import GONE

    if review is None:
        return f"<p>{html.escape(say('report.no_review', lang, year=as_of_year - 1))}</p>"
    t, y = review.table, review.outcome_year
    words = {(a, c.code): (c.label, c.label_en) for a, choices in CHOICES.items() for c in choices}

    def decision(action: str, code: str) -> str:
        pair = words.get((action, code))
        return code if pair is None else pair[0 if lang == "id" else 1]

    def share(k: int, n: int) -> str:
        return f" ({chance(k / n, lang)})" if n else ""

    lines = []
    followed = (
        ("JANGKAU", "DIJANGKAU", STATUS_SAKIT, "report.review_fell_sick"),
        ("BINA", "DIBINA", STATUS_SEHAT, "report.review_recovered"),
    )
    for action, done, outcome, words_key in followed:
        rows = t.loc[t["action"] == action]
        if rows.empty:
            continue
        part, rest = rows.loc[rows["decision"] == done], rows.loc[rows["decision"] != done]
        n, k = int(part["coops"].sum()), int(part[outcome].sum())
        m, j = int(rest["coops"].sum()), int(rest[outcome].sum())
        lines.append(
            say(
                words_key,
                lang,
                n=number(n, 0, lang),
                action=label("action", action, lang),
                decision=decision(action, done),
                k=number(k, 0, lang),
                year=y,
                k_share=share(k, n),
                m=number(m, 0, lang),
                j=number(j, 0, lang),
                j_share=share(j, m),
            )
        )
    head = [
        say("report.review_advice", lang, year=review.advice_year),
        say("col.decision", lang),
        say("report.review_coops", lang),
        say("report.review_sick", lang, year=y),
        say("report.review_healthy", lang, year=y),
        label("status", STATUS_BELUM_DINILAI, lang),
        say("report.review_gone", lang),
    ]
    body = [
        [
            label("action", r["action"], lang),
            decision(r["action"], r["decision"]),
            *(number(r[c], 0, lang) for c in ("coops", STATUS_SAKIT, STATUS_SEHAT, STATUS_BELUM_DINILAI, GONE)),
        ]
        for _, r in t.iterrows()
    ]
    caveat = say("report.review_caveat", lang)
    return (
        "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        + _table(head, body, numeric=range(2, len(head)))
        + f'<p class="explain">{html.escape(caveat)}</p>'
    )


def write_report(
    path: Path,
    result: ScoreResult,
    settings: Settings,
    backtest: Backtest | None = None,
    review: DecisionReview | None = None,
    watch: dict | None = None,
) -> None:
    path.write_text(render(result, settings, backtest, review, watch=watch), encoding="utf-8")
