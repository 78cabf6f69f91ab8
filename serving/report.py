"""The one-page HTML report of a scoring run: pictures first, for a person who would rather look than read.

Self-contained (PNG images embedded as base64, CSS inline), so it can be mailed or opened from a USB stick.
It shows the risk distribution, sick and at-risk cooperatives by kecamatan and by type, the most common reasons,
the actions by clinic, the top of the outreach list, and -- when outcomes exist -- how earlier predictions turned
out (calibration and hits among the top K). Figures are drawn with matplotlib's Figure API (Agg canvas), which
touches no global pyplot state.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik.models.policy import ACTION_LABELS, DISCLAIMER_EN, DISCLAIMER_ID
from klinik.serving.backtest import Backtest, evaluate

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
MAX_BARS = 25


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _risk_distribution(scores: pd.DataFrame, settings: Settings) -> str:
    fig = _figure(10, 3.4)
    left, right = fig.subplots(1, 2)
    bins = np.linspace(0, 1, 41)
    healthy = scores.loc[scores["status"] != "SAKIT_NOW", "p_sick_next"].dropna()
    jangkau = scores.loc[scores["action"] == "JANGKAU", "p_sick_next"]
    left.hist(healthy, bins=bins, color=COLORS["rest"], label="tidak sakit / not sick")
    left.hist(jangkau, bins=bins, color=COLORS["jangkau"], label="Jangkau (outreach list)")
    left.axvline(settings.jangkau_threshold, color="black", ls="--", lw=1)
    left.set(title="Peluang sakit tahun depan / p(sick next year)", xlabel="p_sick_next", ylabel="koperasi")
    left.legend(fontsize=8)
    sick = scores.loc[scores["status"] == "SAKIT_NOW"]
    kinds = (("BINA", "#27ae60"), ("PANTAU_KETAT", "#f1c40f"), ("PERTIMBANGKAN_PEMBUBARAN", "#7f8c8d"))
    right.hist(
        [sick.loc[sick["action"] == a, "p_recover"].to_numpy() for a, _ in kinds],
        bins=bins,
        stacked=True,
        color=[c for _, c in kinds],
        label=[ACTION_LABELS[a][0] for a, _ in kinds],
    )
    right.axvline(settings.bina_threshold, color="black", ls="--", lw=1)
    right.axvline(settings.closure_recover_threshold, color="black", ls=":", lw=1)
    right.set(title="Koperasi sakit: peluang pulih / sick: p(recover in 2 years)", xlabel="p_recover")
    right.legend(fontsize=8)
    return _png(fig)


def _by_category(joined: pd.DataFrame, column: str, title: str, settings: Settings) -> str:
    parts = (
        pd.DataFrame(
            {
                "Sakit sekarang": joined["status"] == "SAKIT_NOW",
                "Jangkau": joined["action"] == "JANGKAU",
                "Berisiko, di luar kapasitas": (joined["action"] == "PANTAU")
                & (joined["p_sick_next"] >= settings.jangkau_threshold),
            }
        )
        .groupby(joined[column])
        .sum()
    )
    parts["Lainnya"] = joined.groupby(column).size() - parts.sum(axis=1)
    if len(parts) > MAX_BARS:  # a whole country has thousands of kecamatan: show where the work is
        title += f" ({MAX_BARS} of {len(parts)} with the most sick and outreach)"
        parts = parts.assign(_w=parts["Sakit sekarang"] + parts["Jangkau"]).nlargest(MAX_BARS, "_w").drop(columns="_w")
    parts = parts.sort_values(["Sakit sekarang", "Jangkau"])
    fig = _figure(8, 0.35 * len(parts) + 1.2)
    ax = fig.subplots()
    left = np.zeros(len(parts))
    for name, color in zip(parts.columns, (COLORS["sick"], COLORS["jangkau"], COLORS["above"], COLORS["rest"])):
        ax.barh(parts.index.astype(str), parts[name], left=left, color=color, label=name)
        left += parts[name].to_numpy()
    ax.set(title=title, xlabel="koperasi")
    fig.legend(fontsize=8, loc="outside lower center", ncols=4)
    return _png(fig)


def _top_reasons(reasons: pd.DataFrame, scores: pd.DataFrame, n: int = 12) -> str | None:
    """How often each feature is among the top reasons of the cooperatives on the clinic's lists (every action
    but PANTAU: the ones a person will look at); all cooperatives when the lists are empty."""
    listed = scores.loc[scores["action"] != "PANTAU", "coop_id"]
    if len(listed):
        reasons = reasons.loc[reasons["coop_id"].isin(listed)]
    if reasons.empty:
        return None
    from matplotlib.patches import Patch

    from klinik.features.catalog import FEATURES

    counts = reasons.groupby(["feature", "group"]).size().sort_values().tail(n)
    labels = [FEATURES[f].label_id if f in FEATURES else f for f, _ in counts.index]
    colors = [COLORS.get(g, "#95a5a6") for _, g in counts.index]
    fig = _figure(8, 0.35 * len(counts) + 1.2)
    ax = fig.subplots()
    ax.barh(labels, counts.to_numpy(), color=colors)
    ax.set(
        title="Alasan paling sering di daftar klinik / most common reasons on the clinic's lists",
        xlabel="koperasi dengan alasan ini di tiga teratasnya",
    )
    handles = [Patch(color=COLORS[g], label=g) for g in ("KEUANGAN", "SDM", "KELEMBAGAAN")]
    fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncols=3)
    return _png(fig)


def _calibration(backtest: Backtest) -> str:
    f = backtest.frame
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(f["p_sick_next"], bins) - 1, 0, 9)
    table = f.groupby(which).agg(pred=("p_sick_next", "mean"), obs=("outcome", "mean"), n=("outcome", "size"))
    fig = _figure(4.6, 4.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="gray", ls="--", lw=1, label="sempurna / perfect")
    ax.scatter(
        table["pred"],
        table["obs"],
        s=20 + 200 * table["n"] / table["n"].max(),
        color=COLORS["jangkau"],
        label="kelompok peluang / probability bin",
    )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="peluang diperkirakan / predicted",
        ylabel="yang terjadi / observed share sick",
        title=f"Prediksi {backtest.year} vs {backtest.year + 1}",
    )
    ax.legend(fontsize=8)
    return _png(fig)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:,.1f}"
    return str(value)


def _img(src: str | None, alt: str) -> str:
    return "" if src is None else f'<img src="{src}" alt="{html.escape(alt)}">'


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
.note{background:#fff4e5;border-left:4px solid #e67e22;padding:.6em 1em}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#f4f6f7;padding:.6em 1em;border-radius:6px}
.card b{display:block;font-size:1.5em}img{max-width:100%}table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left}th{background:#eaf2f8}"""


def render(
    result: ScoreResult,
    settings: Settings,
    backtest: Backtest | None = None,
    review: DecisionReview | None = None,
) -> str:
    """The report as one HTML string (``review``: last year's decisions, serving/decisions_io.py)."""
    scores = result.scores
    joined = scores.merge(result.evidence, on="coop_id", how="left")
    counts = scores["action"].value_counts()
    cards = [
        ("Koperasi dinilai / scored", len(scores)),
        ("Sakit sekarang / sick now", int((scores["status"] == "SAKIT_NOW").sum())),
        ("Belum dinilai / unassessed", int((scores["status"] == "UNASSESSED").sum())),
        *[(f"{ACTION_LABELS[a][0]} / {ACTION_LABELS[a][1]}", int(counts.get(a, 0))) for a in ACTION_LABELS],
    ]
    card_html = "".join(f'<div class="card"><b>{v}</b>{html.escape(k)}</div>' for k, v in cards)
    clinic_table = pd.crosstab(scores["clinic"], scores["action"]).reindex(columns=list(ACTION_LABELS), fill_value=0)
    clinic_table = clinic_table.rename(columns={a: ACTION_LABELS[a][0] for a in ACTION_LABELS}).reset_index()
    top = joined.loc[joined["action"] == "JANGKAU"].head(10)
    top_table = top[["rank", "coop_id", "name", "district", "p_sick_next", "clinic", "reasons"]].rename(
        columns={
            "rank": "Urutan",
            "coop_id": "ID",
            "name": "Nama",
            "district": "Kecamatan",
            "p_sick_next": "Peluang sakit",
            "clinic": "Klinik",
            "reasons": "Alasan",
        }
    )

    parts = [
        f"<h1>Klinik Koperasi: hasil penilaian risiko, tahun buku {result.as_of_year}</h1>",
        f'<p class="note">{html.escape(DISCLAIMER_ID)}<br><i>{html.escape(DISCLAIMER_EN)}</i></p>',
        f'<div class="cards">{card_html}</div>',
        "<h2>Sebaran risiko / risk distribution</h2>",
        _img(_risk_distribution(scores, settings), "risk distribution"),
        "<h2>Per kecamatan dan jenis koperasi / by district and type</h2>",
        _img(_by_category(joined, "district", "Per kecamatan / by district", settings), "by district"),
        _img(_by_category(joined, "coop_type", "Per jenis koperasi / by type", settings), "by type"),
        "<h2>Alasan paling sering / most common reasons</h2>",
        _img(_top_reasons(result.reasons, scores), "most common reasons"),
        "<h2>Rekomendasi per klinik / actions by clinic</h2>",
        _table(clinic_table),
        "<h2>Sepuluh teratas daftar jangkau / top of the outreach list</h2>",
        _table(top_table) if len(top_table) else "<p>Daftar jangkau kosong / the outreach list is empty.</p>",
        "<h2>Bagaimana prediksi sebelumnya terbukti / how earlier predictions turned out</h2>",
        _backtest_html(backtest, result.capacity or 0),
        "<h2>Keputusan tahun lalu dan hasilnya / last year's decisions and what followed</h2>",
        _review_html(review, result.as_of_year),
        f"<p><small>Model: {html.escape(result.model_version)}</small></p>",
    ]
    return (
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
        f"<title>Klinik Koperasi {result.as_of_year}</title><style>{CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )


def _backtest_html(backtest: Backtest | None, k: int) -> str:
    if backtest is None or backtest.frame.empty:
        return (
            "<p>Belum ada hasil untuk dibandingkan: tidak ada prediksi tahun lalu yang hasilnya sudah diketahui. "
            "<i>No earlier predictions with known outcomes yet (needs an earlier run's scores for the year "
            "before, or health assessments for the year after the one scored).</i></p>"
        )
    m = evaluate(backtest, k)
    text = (
        f"Prediksi untuk {backtest.year} ({html.escape(backtest.source)}, model "
        f"{html.escape(backtest.model_version)}), dibandingkan dengan penilaian {backtest.year + 1}: "
        f"{m['n']} koperasi tidak sakit yang dinilai lagi, {m['positives']} jatuh sakit atau bubar "
        f"(laju dasar {m['base_rate']:.1%}). Dari {m['k']} teratas, {m['hits']} benar jatuh sakit "
        f"({m['precision_at_k']:.0%}; menangkap {m['recall_at_k']:.0%} dari semua yang sakit). "
        f"Skor Brier {m['brier']:.3f}."
    )
    return f"<p>{text}</p>" + _img(_calibration(backtest), "calibration")


def _review_html(review: DecisionReview | None, as_of_year: int) -> str:
    from klinik.serving.decisions import label_of

    if review is None:
        return (
            f"<p>Belum ada keputusan petugas yang tercatat atas rekomendasi {as_of_year - 1}. "
            f"<i>No decisions recorded on the advice for {as_of_year - 1} (klinik decisions import, the JSON API "
            "or the staff page record them).</i></p>"
        )
    t, y = review.table, review.outcome_year
    lines = []
    for action, done, word in (("JANGKAU", "DIJANGKAU", "sakit"), ("BINA", "DIBINA", "sehat kembali")):
        rows = t.loc[t["action"] == action]
        if rows.empty:
            continue
        outcome = "SAKIT_NOW" if word == "sakit" else "SEHAT_NOW"
        part = rows.loc[rows["decision"] == done]
        rest = rows.loc[rows["decision"] != done]
        n, k = int(part["coops"].sum()), int(part[outcome].sum())
        m, j = int(rest["coops"].sum()), int(rest[outcome].sum())
        label = ACTION_LABELS[action][0]
        lines.append(
            f"Dari {n} koperasi {label} yang {label_of(action, done)}, {k} {word} pada {y}"
            + (f" ({k / n:.0%})" if n else "")
            + f"; dari {m} yang diputuskan lain, {j} {word}"
            + (f" ({j / m:.0%})." if m else ".")
        )
    table = t.assign(action=t["action"].map(lambda a: ACTION_LABELS.get(a, (a,))[0]))
    table = table.drop(columns="decision").rename(
        columns={
            "action": f"Rekomendasi {review.advice_year}",
            "label": "Keputusan petugas",
            "coops": "Koperasi",
            "SAKIT_NOW": f"Sakit {y}",
            "SEHAT_NOW": f"Sehat {y}",
            "UNASSESSED": "Belum dinilai",
            "GONE": "Tidak terdaftar lagi",
        }
    )
    caveat = (
        "Bukan bukti sebab-akibat: petugas memilih siapa yang dijangkau dan dibina. <i>Not evidence of cause and "
        "effect: officers chose whom to reach and treat; a first step toward learning which treatment helps whom."
        "</i>"
    )
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines) + _table(table) + f"<p><small>{caveat}</small></p>"


def write_report(
    path: Path,
    result: ScoreResult,
    settings: Settings,
    backtest: Backtest | None = None,
    review: DecisionReview | None = None,
) -> None:
    path.write_text(render(result, settings, backtest, review), encoding="utf-8")
