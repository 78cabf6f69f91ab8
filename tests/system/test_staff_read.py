"""What clinic staff read, read back from a real `klinik score` run on the shared world: the report (HTML parsed,
its charts rebuilt from the scores written), the workbook (openpyxl), scores.csv and reasons.parquet.

One test per kind of mistake a reader found: a label that says the opposite of the value, the same fact twice,
good news given as a reason for risk, numbers nobody can read, a clinic at odds with its reasons, the sick shown
the reasons of the wrong model, wrong or foreign words, a heading that promises other rows than it shows, and a
workbook that does not filter, fit or print.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klinik.data.contract import STATUSES
from klinik.wording import date_words, say

pytestmark = pytest.mark.slow

AS_OF = 2024
LIST_SHEETS = ("Jangkau", "Berikutnya", "Bina", "Pantau Ketat", "Pertimbangan Pembubaran")
REASON_HEADERS = (
    "Alasan risiko (bidang klinik dulu)",
    "Penyebab sakit (bidang klinik dulu)",
    "Penghambat pemulihan",
    "Pendukung pemulihan",
)
EMPTY = "Tidak ada koperasi dalam daftar ini tahun ini."


@pytest.fixture(scope="module")
def run(store, world_dir, tmp_path_factory) -> Path:
    from klinik.serving.cmd import run_score

    out = tmp_path_factory.mktemp("staff") / "scores" / str(AS_OF)
    assert run_score(world_dir, AS_OF, out, quiet=True) == 0
    return out


@pytest.fixture(scope="module")
def scores(run) -> pd.DataFrame:
    return pd.read_csv(run / "scores.csv", dtype={"coop_id": str})


@pytest.fixture(scope="module")
def reasons(run) -> pd.DataFrame:
    return pd.read_parquet(run / "reasons.parquet")


@pytest.fixture(scope="module")
def workbook(run):
    from openpyxl import load_workbook

    return load_workbook(run / f"klinik-koperasi-{AS_OF}.xlsx")


def sheet(wb, name: str) -> pd.DataFrame:
    ws = wb[name]
    header = [c.value for c in ws[1]]
    body = pd.DataFrame(list(ws.iter_rows(min_row=2, values_only=True)), columns=header)
    return body.loc[body.iloc[:, 0] != EMPTY] if len(body) else body


class Page(HTMLParser):
    """The report as a reader meets it: headings, tables (rows of cell texts), all text, the CSS."""

    def __init__(self, text: str):
        super().__init__()
        self.headings, self.tables, self.text, self.css, self.meta = [], [], [], "", ""
        self._in, self._cell, self._row, self._heading = [], None, None, None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self._in.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append({"heading": self.headings[-1] if self.headings else "", "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1]["rows"].append(self._row)
            self._row = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(" ".join(self._heading).strip())
            self._heading = None
        while self._in and self._in.pop()[0] != tag:
            pass

    def handle_data(self, data):
        tag, attrs = self._in[-1] if self._in else ("", {})
        if tag == "style":
            self.css += data
            return
        if tag == "p" and attrs.get("class") == "meta":
            self.meta += data
        self.text.append(data)
        for part in (self._cell, self._heading):
            if part is not None:
                part.append(data)

    def table(self, heading: str) -> list[list[str]]:
        found = [t["rows"] for t in self.tables if t["heading"].startswith(heading)]
        assert found, f"no table under a heading starting {heading!r}: {[t['heading'] for t in self.tables]}"
        return found[0]


@pytest.fixture(scope="module")
def page(run) -> Page:
    return Page((run / "report.html").read_text(encoding="utf-8"))


def staff_texts(page: Page, workbook) -> list[str]:
    """Every piece of text a person reads in the report and the workbook."""
    cells = [c.value for ws in workbook.worksheets for row in ws.iter_rows() for c in row]
    return [t for t in page.text if t.strip()] + [c for c in cells if isinstance(c, str)]


def reason_parts(cell: str) -> list[str]:
    return [p for p in str(cell).split("; ") if p]


# ---------------------------------------------------------------------------------------------- reasons


def test_a_reasons_label_says_what_the_value_is(page, reasons, world, store):
    """The chart's labels are the facts' labels (never a measure's neutral name such as "RAT diadakan"), and every
    reason's fact, recomputed from the real feature table, is on the side the reason claims."""
    from klinik.features.build import build_features
    from klinik.features.catalog import FEATURES
    from klinik.models.facts import HARM, HEALTHY, attributions

    neutral = {s.label_id for s in FEATURES.values()}  # a measure's name ("RAT diadakan (ya/tidak)"), not a value
    shown = [row[0] for row in page.table(say("report.h_reasons"))[1:]]
    assert shown and set(shown) <= set(reasons["label_id"])
    assert not set(shown) & neutral
    feats = build_features(world, store.settings, years=[AS_OF])
    feats = feats.loc[feats["year"] == AS_OF].set_index(feats["coop_id"].astype(str), drop=False)
    want = {"risk": HARM, "recovery_hinders": HARM, "recovery_helps": HEALTHY}
    rows = feats.loc[reasons["coop_id"]].reset_index(drop=True)
    by_feature: dict[str, list] = {}
    for a in attributions(rows, sorted(set(reasons["feature"]))):
        by_feature.setdefault(a.feature, []).append(a)
    for i, r in reasons.reset_index(drop=True).iterrows():
        states = [a.state[i] for a in by_feature[r["feature"]] if a.key == r["fact"] and a.weight[i] > 0]
        assert want[r["kind"]] in states, (r["coop_id"], r["kind"], r["fact"], r["text_id"])


def test_one_sentence_per_fact(scores, reasons, workbook):
    per = reasons.groupby(["coop_id", "kind"])
    assert not per["fact"].apply(lambda f: f.duplicated().any()).any()
    assert not per["text_id"].apply(lambda t: t.duplicated().any()).any()
    cells = list(scores["reasons"])
    for name in (*LIST_SHEETS, "Semua Koperasi"):
        body = sheet(workbook, name)
        cells += [c for h in REASON_HEADERS if h in body for c in body[h].dropna()]
    for cell in cells:
        parts = [re.sub(r" \([+−]\d+ poin\)$| \(kurang dari 1 poin\)$", "", p) for p in reason_parts(cell)]
        assert len(parts) == len(set(parts)), cell
        assert sum("laporan keuangan" in p and "tidak ada" in p for p in parts) <= 2, cell  # this year, last year


def test_a_risk_reason_says_why_it_raises_the_risk(reasons):
    """Against its yardstick, and a change only in the direction that raises the risk; with the points it adds."""
    from klinik.models.facts import BANDS

    risk = reasons.loc[reasons["kind"] == "risk"]
    not_sick = risk["points"].notna()
    assert (risk.loc[not_sick, "points"] >= 0.5).all()
    ratios = risk.loc[risk["fact"].isin(BANDS)]
    assert len(ratios)
    for _, r in ratios.iterrows():
        band = BANDS[r["fact"]]
        text, label = r["text_id"], r["label_id"]
        assert "batas sehat" in text or "Sehat: 80 ke atas" in text or "predikat" in text, text
        rising, falling = " naik " in f" {text} ", " turun " in f" {text} "
        if "di atas batas sehat" in label:
            assert not falling, text
        elif "di bawah batas sehat" in label:
            assert not rising, text
        else:  # a change alone, in a one-sided band's unhealthy direction
            assert band.low is None or band.high is None, text
            assert rising == (band.low is None) and falling == (band.high is None), text


def test_the_numbers_beside_reasons_are_points_and_are_explained(scores, workbook, page):
    parts = [p for cell in scores["reasons"] for p in reason_parts(cell)]
    for name in LIST_SHEETS:
        body = sheet(workbook, name)
        parts += [p for h in REASON_HEADERS if h in body for cell in body[h].dropna() for p in reason_parts(cell)]
    assert parts and not [p for p in parts if re.search(r"\(\d+%\)$", p)]  # no bare share
    assert any(re.search(r"\(\+\d+ poin\)$", p) for p in parts)
    guide = " ".join(str(c.value) for row in workbook["Petunjuk"].iter_rows() for c in row if c.value)
    for where in (guide, " ".join(page.text)):
        assert say("reason.points_risk_meaning") in where and say("reason.points_recovery_meaning") in where


def test_the_clinics_choice_is_visible(scores, reasons, workbook):
    """The reasons of the chosen clinic's area come first, and the workbook says each area's part beside them."""
    first = reasons.loc[(reasons["kind"] == "risk") & (reasons["position"] == 1)].set_index("coop_id")
    risk = reasons.loc[reasons["kind"] == "risk"]
    clinic = scores.set_index("coop_id")["clinic"]
    has_own = risk.loc[risk["group"].to_numpy() == clinic.loc[risk["coop_id"]].to_numpy(), "coop_id"].unique()
    assert len(has_own) > len(scores) / 4
    assert (first.loc[has_own, "group"] == clinic.loc[has_own]).all()
    every = sheet(workbook, "Semua Koperasi").set_index("ID koperasi")
    lists = pd.concat([sheet(workbook, n).set_index("ID koperasi") for n in ("Jangkau", "Bina", "Pantau Ketat")])
    for coop_id, row in lists.iterrows():
        basis = row["Dasar pemilihan klinik"]
        assert basis.startswith(row["Klinik"]) or basis == say("reason.no_area"), (coop_id, basis)
    assert set(every.index) == set(scores["coop_id"])


def test_the_sick_see_what_holds_their_recovery_back_from_the_recovery_model(scores, reasons, workbook):
    sick = set(scores.loc[scores["status"] == "SAKIT", "coop_id"])
    recovery = reasons.loc[reasons["kind"] != "risk"]
    assert len(recovery) and set(recovery["coop_id"]) <= sick
    hinders, helps = (
        recovery.loc[recovery["kind"] == "recovery_hinders"],
        recovery.loc[recovery["kind"] == "recovery_helps"],
    )
    assert (hinders["points"] < 0).all() and (hinders["contribution"] < 0).all()
    assert (helps["points"] > 0).all() and (helps["contribution"] > 0).all()
    for name in ("Bina", "Pantau Ketat", "Pertimbangan Pembubaran"):
        header = [c.value for c in workbook[name][1]]
        assert {"Penyebab sakit (bidang klinik dulu)", "Penghambat pemulihan", "Pendukung pemulihan"} <= set(header)
        assert "Alasan risiko (bidang klinik dulu)" not in header
    # a fact is never said both ways of one cooperative (a hindrance and a help at once)
    both = hinders.merge(helps, on=["coop_id", "fact"])
    assert both.empty, both[["coop_id", "fact", "text_id_x", "text_id_y"]].to_string()
    bina = sheet(workbook, "Bina")
    texts = bina["Penghambat pemulihan"].tolist() + bina["Pendukung pemulihan"].tolist()
    assert all(re.search(r"\([+−]\d+ poin\)|menonjol", t) for t in texts)


# ---------------------------------------------------------------------------------------------- words


FORBIDDEN = (
    "tingkat karyawan keluar",
    "pembagi nol",
    "tanda kelemahan SDM 50%",
    "Sepuluh teratas",
    "Bagaimana prediksi",
    "SEHAT_NOW",
    "SAKIT_NOW",
    "UNASSESSED",
    "nan",
)
ENGLISH = {
    "the",
    "and",
    "of",
    "with",
    "not",
    "from",
    "for",
    "to",
    "is",
    "are",
    "this",
    "that",
    "sick",
    "reasons",
    "outreach",
    "watch",
    "treat",
    "recover",
    "year",
    "years",
    "predicted",
    "observed",
    "perfect",
    "share",
}


def test_the_wording_is_the_reviewed_wording(scores, page, workbook):
    texts = staff_texts(page, workbook) + list(scores["reasons"])
    for text in texts:
        for phrase in FORBIDDEN:
            assert not re.search(rf"(?<![A-Za-z]){re.escape(phrase)}(?![A-Za-z])", text), (phrase, text)
    assert set(scores["status"]) <= set(STATUSES)
    headings = " | ".join(page.headings)
    assert "10 koperasi teratas untuk dijangkau" in headings and "Ketepatan prediksi tahun lalu" in headings


def test_indonesian_numbers_and_no_english_mid_sentence(scores, page, workbook):
    models = scores["model_version"].iloc[0]
    texts = [t.replace(models, "") for t in staff_texts(page, workbook) if "/" not in t or " " in t]
    for text in texts:
        for number in re.findall(r"\d[\d.,]*\d", text):
            # a dot only ever groups thousands: 1.234 or 1.234,5 -- never 12.5
            assert re.fullmatch(r"\d{1,3}(\.\d{3})*(,\d+)?|\d+(,\d+)?", number), (number, text)
    plain = [re.sub(r"\S*/\S*", "", t) for t in texts]  # paths and model versions are names, not words
    words = {w.lower() for t in plain for w in re.findall(r"[A-Za-z]+", t)}
    assert not words & ENGLISH, words & ENGLISH


# ---------------------------------------------------------------------------------------------- the report


def test_each_heading_counts_the_rows_it_shows(page, scores):
    outreach = page.table("10 koperasi teratas untuk dijangkau")
    assert len(outreach) - 1 == 10
    n_sick = int((scores["status"] == "SAKIT").sum())
    assert any(h == f"Koperasi sakit: {n_sick} untuk dibina dan dipantau" for h in page.headings)
    for action, words in (
        ("BINA", "Bina"),
        ("PANTAU_KETAT", "Pantau ketat"),
        ("PERTIMBANGKAN_PEMBUBARAN", "Pertimbangkan pembubaran"),
    ):
        n = int((scores["action"] == action).sum())
        heading = f"{words} ({n})"
        assert heading in page.headings
        if n:
            assert len(page.table(heading)) - 1 == n


def test_the_sick_are_named_in_their_lists(page, scores, world):
    names = world.cooperatives.set_index("coop_id")["name"]
    text = " ".join(page.text)
    for coop_id in scores.loc[scores["status"] == "SAKIT", "coop_id"]:
        assert coop_id in text and names[coop_id] in text


def test_rates_stand_beside_counts_per_kecamatan_and_type(page, scores, world):
    coops = world.cooperatives.set_index("coop_id")
    joined = scores.assign(district=coops.loc[scores["coop_id"], "district"].to_numpy())
    rows = page.table(say("report.h_by_place"))[1:]
    assert {r[0] for r in rows} == set(joined["district"])
    for name, n, sick, sick_rate, _, _ in rows:
        mine = joined.loc[joined["district"] == name]
        assert int(n) == len(mine) and int(sick) == (mine["status"] == "SAKIT").sum()
        assert sick_rate == f"{round(100 * int(sick) / int(n))}%"


def test_the_page_says_whose_it_is_and_what_it_rests_on(page, scores, world_dir, store):
    meta = page.meta
    assert store.settings.office_name in " ".join(page.text)
    assert date_words(dt.date.today()) in meta and str(world_dir) in meta
    assert scores["model_version"].iloc[0] in meta


def test_the_page_prints_on_a4(page):
    css = page.css.replace(" ", "")
    assert "@page{size:A4" in css
    assert re.search(r"h1,h2,h3\{break-after:avoid", css)
    assert "thead{display:table-header-group}" in css and "tr,img{break-inside:avoid" in css
    assert "table{break-inside:avoid" in css  # short tables stay whole; long ones (class long) repeat their header


def test_the_charts_speak_in_words_and_percent(run, store, reasons):
    from klinik.serving import report

    scores = pd.read_parquet(run / "scores.parquet")
    s = store.settings
    figures = [report.distribution_figure(scores, s, "id")]
    evidence_like = scores.assign(district="Seririt", coop_type="KSP")
    figures.append(report.place_figure(report.place_table(evidence_like, "district", s), "Per kecamatan", "id"))
    figures.append(report.reasons_figure(report.reason_counts(reasons, scores, "id"), "id"))
    for fig in figures:
        fig.canvas.draw()
        for ax in fig.axes:
            for words in (ax.get_xlabel(), ax.get_ylabel()):
                assert "_" not in words and (words == "" or " " in words or words.isalpha()), words
            (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
            ticks = [t.get_text() for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1 and t.get_text()]
            ticks += [t.get_text() for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1 and t.get_text()]
            for tick in ticks:  # percents for chances; whole numbers for cooperatives (names stay names)
                assert re.search(r"[A-Za-z]", tick) or re.fullmatch(r"\d+%|\d{1,3}(\.\d{3})*", tick), tick
    left, right = figures[0].axes
    for ax, n in ((left, 1), (right, 2)):
        lines = [line for line in ax.get_lines() if line.get_label().startswith("batas")]
        assert len(lines) == n and all("%" in line.get_label() for line in lines)
        assert any(t.get_text().endswith("%") for t in ax.get_xticklabels())


# ---------------------------------------------------------------------------------------------- the workbook


def test_every_sheet_filters_fits_and_prints_on_a4_landscape(workbook):
    from openpyxl.utils import get_column_letter

    for ws in workbook.worksheets:
        assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        if ws.title == "Petunjuk":
            continue
        header = [c.value for c in ws[1]]
        assert ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1", ws.title
        assert ws.auto_filter.ref == f"A1:{get_column_letter(len(header))}{max(ws.max_row, 2)}", ws.title
        for j, h in enumerate(header, start=1):
            width = ws.column_dimensions[get_column_letter(j)].width
            assert width >= max(len(w) for w in h.split()), (ws.title, h)
            if h in REASON_HEADERS and ws.max_row > 1 and ws["A2"].value != EMPTY:
                for i in range(2, ws.max_row + 1):
                    cell = ws.cell(i, j)
                    assert cell.alignment.wrap_text, (ws.title, h)
                    lines = max(1, -(-len(str(cell.value or "")) // int(width * 1.4)))
                    assert (ws.row_dimensions[i].height or 15) >= 15 * lines * 0.8, (ws.title, i, h)


def test_decisions_have_a_drop_down_of_the_allowed_values(workbook):
    from klinik.serving import decisions
    from klinik.serving.excel import SHEETS

    for name, action in SHEETS.items():
        ws = workbook[name]
        header = [c.value for c in ws[1]]
        col = header.index("Keputusan petugas") + 1
        rows = sheet(workbook, name)
        if rows.empty:
            continue
        found = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
        assert found, name
        allowed = found[0].formula1.strip('"').split(",")
        assert allowed == decisions.labels(action)
        covered = {cell for cells in found[0].sqref.ranges for cell in cells.cells}
        assert covered == {(row, col) for row in range(2, len(rows) + 2)}, name  # every decision cell


def test_next_to_call_fills_the_capacity_after_the_jangkau_list(workbook, run, scores):
    import json

    capacity = json.loads((run / "manifest.json").read_text())["counts"]["outreach_capacity"]
    jangkau, nxt = sheet(workbook, "Jangkau"), sheet(workbook, "Berikutnya")
    assert len(jangkau) + len(nxt) == min(capacity, int((scores["status"] != "SAKIT").sum()))
    assert list(nxt["Urutan"]) == list(range(len(jangkau) + 1, len(jangkau) + len(nxt) + 1))
    ranked = scores.set_index("coop_id")
    assert (ranked.loc[nxt["ID koperasi"], "action"] == "PANTAU").all()


def test_every_cooperative_is_in_the_all_sheet_with_its_name(workbook, scores, world):
    every = sheet(workbook, "Semua Koperasi")
    names = world.cooperatives.set_index("coop_id")["name"]
    assert sorted(every["ID koperasi"]) == sorted(scores["coop_id"])
    assert (every.set_index("ID koperasi")["Nama koperasi"] == names.loc[every["ID koperasi"]].to_numpy()).all()


def test_an_empty_list_says_so(workbook, scores):
    for name in LIST_SHEETS:
        ws = workbook[name]
        if ws.max_row == 2 and ws["A2"].value == EMPTY:
            continue
        assert ws.max_row >= 2 and ws["A2"].value not in (None, ""), name
    assert (
        np.any([workbook[n]["A2"].value == EMPTY for n in LIST_SHEETS])
        or (
            scores["action"].value_counts().reindex(["BINA", "PANTAU_KETAT", "PERTIMBANGKAN_PEMBUBARAN"]).fillna(0) > 0
        ).all()
    )
