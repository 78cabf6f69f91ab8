"""The clinic staff's workbook: one sheet per list, Indonesian headers, every row a recommendation to decide on.

Sheets: Petunjuk (how to read it: recommendations, not decisions; whose and from what), Jangkau (outreach: healthy
but at risk, up to the clinic's capacity), Berikutnya (the next to call while the clinic has room: the outreach
order after Jangkau, up to the capacity), Bina (treatment: sick and likely to recover, by clinic), Pantau Ketat
(close watch), Pertimbangan Pembubaran (closure review, with the evidence), Semua Koperasi (every cooperative
scored, with its name). Each list ends with two columns for the officer's decision (a drop-down of the decisions
allowed on that list) and note, so the workbook that comes back is the record of what a person decided.

Every sheet is ready to work and to print: the header row frozen and filtered (autofilter), columns wide enough,
reasons wrapped, A4 landscape one page wide with the header row repeated on every printed page and the page number
in the footer. An empty list says so in words. Written with openpyxl's streaming writer (national lists run to
tens of thousands of rows); all words come from klinik/wording.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik.data.contract import STATUS_SAKIT
from klinik.models.policy import ACTION_LABELS
from klinik.wording import chance, date_words, label, say

if TYPE_CHECKING:
    from klinik.serving.decisions import InForce
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

# sheet name -> the action its rows carry (the decision lists depend on it); "Berikutnya" holds PANTAU rows
SHEETS = {
    say("sheet.JANGKAU"): "JANGKAU",
    say("sheet.next"): "PANTAU",
    say("sheet.BINA"): "BINA",
    say("sheet.PANTAU_KETAT"): "PANTAU_KETAT",
    say("sheet.PERTIMBANGKAN_PEMBUBARAN"): "PERTIMBANGKAN_PEMBUBARAN",
}
ALL_SHEET = say("sheet.all")
GUIDE_SHEET = say("sheet.guide")
PERCENT_HEADERS = {say(f"col.{p}{end}") for p in ("p_sick_next", "p_recover") for end in ("", "_lo", "_hi")}
REASON_HEADERS = {say("col.reasons"), say("col.causes"), say("col.hinders"), say("col.helps")}
WRAPPED_HEADERS = REASON_HEADERS | {say("col.clinic_basis"), say("col.name"), say("col.certainty")}
NARROW = {say("col.clinic_basis"): 24, say("col.name"): 28, say("col.certainty"): 40}  # wrap beyond these widths
DECISION_HEADERS = (say("col.decision"), say("col.note"))
ID_HEADER = say("col.coop_id")
MAX_WIDTH = 50  # reasons wider than this wrap
MIN_WIDTH = 8
LINE_HEIGHT = 15.0  # points per line of the default font (Calibri 11)
CHARS_PER_WIDTH = 1.15  # characters of running text per unit of column width (a unit is one "0")

_IN_ORDER = ("rank", "coop_id", "name", "district", "coop_type", "status")  # a list in outreach order begins so
_SICK_NEXT = ("p_sick_next", "p_sick_next_lo", "p_sick_next_hi")  # each chance with its 80% range
_RECOVER = ("p_recover", "p_recover_lo", "p_recover_hi", "certainty")
_HEALTHY_LIST = (*_IN_ORDER, *_SICK_NEXT, "clinic", "clinic_basis", "reasons")
_SICK_WHO = ("clinic", "clinic_basis", "coop_id", "name", "district", "coop_type", *_RECOVER, "years_sick")
_SICK_WHY = ("causes", "hinders", "helps")
_COLUMNS = {
    "JANGKAU": _HEALTHY_LIST,
    "PANTAU": _HEALTHY_LIST,
    # the sick by clinic: who, how likely to recover, how long sick (and without an RAT), why, what helps
    "BINA": (*_SICK_WHO, "health_score", *_SICK_WHY),
    "PANTAU_KETAT": (*_SICK_WHO, "rat_missed_years", "health_score", *_SICK_WHY),
    "PERTIMBANGKAN_PEMBUBARAN": (
        "coop_id",
        "name",
        "district",
        "coop_type",
        "years_sick",
        "rat_missed_years",
        *_RECOVER,
        "score_trend",
        "score_change",
        "clinic",
        "clinic_basis",
        *_SICK_WHY,
    ),
}
_ALL = (*_IN_ORDER, *_SICK_NEXT, *_RECOVER[:3], "clinic", "action", "reasons")


def _joined(result: ScoreResult) -> pd.DataFrame:
    return result.scores.merge(result.evidence, on="coop_id", how="left", validate="one_to_one")


def list_frames(result: ScoreResult, lang: str = "id") -> dict[str, pd.DataFrame]:
    """The lists as DataFrames with the Indonesian headers the sheets show (also used by tests and the staff
    page): each of SHEETS, then ALL_SHEET. ``lang``: the language of the cells (codes in words, reasons); the
    headers stay the sheet's, the staff page says them in its own language."""
    from klinik.models.reasons import reasons_text

    df = _joined(result)
    ids = df["coop_id"]
    sick = (df["status"] == STATUS_SAKIT).to_numpy()
    cells = {
        "rank": df["rank"],
        "coop_id": df["coop_id"],
        "name": df["name"],
        "district": df["district"],
        "coop_type": df["coop_type"],
        "clinic": df["clinic"].map(lambda c: label("clinic", c, lang)),
        "clinic_basis": df["clinic_basis" if lang == "id" else "clinic_basis_en"],
        "status": df["status"].map(lambda s: label("status", s, lang)),
        **{c: df[c] for c in (*_SICK_NEXT, *_RECOVER[:3])},
        "certainty": df["certainty" if lang == "id" else "certainty_en"],
        "years_sick": df["years_sick"],
        "rat_missed_years": df["rat_missed_years"],
        "health_score": df["health_score"],
        "score_trend": df["score_trend"],
        "score_change": df["score_change"],
        "action": df["action"].map(lambda a: label("action", a, lang)),
    }
    risk = reasons_text(result.reasons, ids, lang=lang, kind="risk").to_numpy()
    cells["reasons"] = pd.Series(risk, index=df.index)
    cells["causes"] = cells["reasons"]
    for column, kind in (("hinders", "recovery_hinders"), ("helps", "recovery_helps")):
        cells[column] = pd.Series(reasons_text(result.reasons, ids, lang=lang, kind=kind).to_numpy(), index=df.index)
    table = pd.DataFrame(cells)
    clinic_code = df["clinic"]  # each clinic's block in the same order whatever the language

    frames = {}
    n_jangkau = int((df["action"] == "JANGKAU").sum())
    room = max((result.capacity or 0) - n_jangkau, 0)
    for sheet, action in SHEETS.items():
        if action == "PANTAU":  # the next to call: the outreach order after the Jangkau list, while there is room
            rows = table.loc[~sick & (df["action"] == "PANTAU").to_numpy()].sort_values("rank").head(room)
        else:
            rows = table.loc[(df["action"] == action).to_numpy()]
        if action in ("BINA", "PANTAU_KETAT"):  # by clinic, so each clinic takes its own block
            rows = rows.assign(_c=clinic_code.loc[rows.index].to_numpy()).sort_values(["_c", "rank"], kind="stable")
        else:
            rows = rows.sort_values("rank", kind="stable")
        frames[sheet] = rows[list(_COLUMNS[action])].rename(columns=_header).reset_index(drop=True)
    frames[ALL_SHEET] = table.sort_values("rank")[list(_ALL)].rename(columns=_header).reset_index(drop=True)
    return frames


def _header(column: str) -> str:
    return say(f"col.{column}")


def _guide_rows(result: ScoreResult, settings: Settings, frames: dict[str, pd.DataFrame]) -> list[list]:
    s = settings
    counts = result.scores["action"].value_counts()
    capacity = result.capacity if result.capacity is not None else "-"
    sheets = {
        say("sheet.JANGKAU"): say("guide.JANGKAU", threshold=chance(s.jangkau_threshold), capacity=capacity),
        say("sheet.next"): say("guide.next", capacity=capacity),
        say("sheet.BINA"): say("guide.BINA", threshold=chance(s.bina_threshold)),
        say("sheet.PANTAU_KETAT"): say("guide.PANTAU_KETAT"),
        say("sheet.PERTIMBANGKAN_PEMBUBARAN"): say(
            "guide.PERTIMBANGKAN_PEMBUBARAN",
            years=s.closure_min_years_sick,
            closure=chance(s.closure_recover_threshold),
            rat_years=s.inactive_years_without_rat,
            bina=chance(s.bina_threshold),
        ),
        ALL_SHEET: say("guide.all"),
    }
    return [
        [say("guide.title", year=result.as_of_year)],
        [say("guide.meta", office=s.office_name, run_date=date_words(dt.date.today()), source=result.source or "-")],
        [],
        [say("guide.important"), say("disclaimer")],
        [],
        [say("guide.sheets"), say("guide.contents")],
        *[[name, f"{text} ({len(frames[name])})"] for name, text in sheets.items()],
        [],
        [say("guide.columns"), say("guide.meaning")],
        [say("col.p_sick_next"), say("guide.col_p_sick_next")],
        [say("col.p_recover"), say("guide.col_p_recover")],
        [", ".join(say(f"col.{c}") for c in (*_SICK_NEXT[1:], *_RECOVER[1:3])), say("guide.col_interval")],
        [say("col.certainty"), say("guide.col_certainty")],
        [say("col.clinic"), say("guide.col_clinic")],
        [say("col.clinic_basis"), say("guide.col_clinic_basis")],
        [say("col.reasons"), f"{say('reason.points_risk_meaning')} {say('reason.clinic_first')}"],
        [say("col.causes"), say("reason.clinic_first")],
        [f"{say('col.hinders')}, {say('col.helps')}", say("reason.points_recovery_meaning")],
        [", ".join(DECISION_HEADERS), say("guide.col_decision")],
        [],
        [say("guide.summary"), say("guide.count")],
        [say("guide.scored"), len(result.scores)],
        *[[ACTION_LABELS[a][0], int(counts.get(a, 0))] for a in ACTION_LABELS],
        [],
        [say("guide.models"), result.model_version],
    ]


def _width(header: str, values: pd.Series) -> float:
    """Wide enough for the header's longest word (the header wraps) and for the longest value; reasons wrap
    beyond MAX_WIDTH."""
    lengths = values.dropna().astype(str).str.len()
    longest = int(lengths.max()) if len(lengths) else 0
    if header in PERCENT_HEADERS:
        longest = 6  # "100.0%"
    head = max(len(w) for w in header.split()) if header.strip() else 0
    return float(min(MAX_WIDTH, max(MIN_WIDTH, head + 2, longest + 2)))


def _print_setup(ws, title: str, year: int) -> None:
    """A4 landscape, one page wide, the header row on every printed page, the page number in the footer."""
    from openpyxl.worksheet.properties import PageSetupProperties
    from openpyxl.worksheet.worksheet import Worksheet

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.HeaderFooter.oddHeader.center.text = say("sheet.header_footer", year=year, sheet=title)
    ws.HeaderFooter.oddFooter.center.text = say("sheet.page")


def write_workbook(
    path: Path,
    result: ScoreResult,
    settings: Settings,
    decisions: InForce | None = None,
    sheets: list[str] | None = None,
) -> None:
    """Write the clinic's workbook to ``path`` (the caller makes it atomic by writing into a temp folder).

    ``decisions``: the decisions in force (serving/decisions.py) go into the decision columns; every decision
    cell of a list has the drop-down of the decisions allowed on its sheet's action. ``sheets``: only these lists
    (after the Petunjuk sheet), e.g. the staff page's download of one list.
    """
    from openpyxl import Workbook
    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from klinik.serving.decisions import dropdown

    frames = list_frames(result)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")

    guide = wb.create_sheet(GUIDE_SHEET)
    guide.column_dimensions["A"].width = 40
    guide.column_dimensions["B"].width = 100
    _print_setup(guide, GUIDE_SHEET, result.as_of_year)  # before the first row: the streaming writer starts then
    for i, row in enumerate(_guide_rows(result, settings, frames)):
        guide.row_dimensions[i + 1].height = _height([(str(v), w) for v, w in zip(row, (40.0, 85.0))])
        cells = []
        for j, value in enumerate(row):
            cell = WriteOnlyCell(guide, value=value)
            if i == 0 or j == 0 or row[0] == say("guide.important"):
                cell.font = bold
            cell.alignment = wrap
            cells.append(cell)
        guide.append(cells)

    for sheet, frame in frames.items():
        if sheets is not None and sheet not in sheets:
            continue
        ws = wb.create_sheet(sheet)
        action = SHEETS.get(sheet)
        headers = [*frame.columns, *(DECISION_HEADERS if action else ())]
        widths = []
        # a sheet of three reasons columns (the sick's) keeps each narrower, so the page stays readable
        widest = MAX_WIDTH if sum(h in REASON_HEADERS for h in headers) < 3 else 36
        for j, header in enumerate(headers, start=1):
            values = frame[header] if header in frame else pd.Series(dtype=str)
            width = _width(header, values) if header not in DECISION_HEADERS else 20.0
            widths.append(min(width, NARROW.get(header, widest)))
            ws.column_dimensions[get_column_letter(j)].width = widths[-1]
        ws.row_dimensions[1].height = _height(list(zip(headers, widths)), chars_per_width=0.9)  # bold
        ws.freeze_panes = "A2"
        last_col = get_column_letter(len(headers))
        ws.auto_filter.ref = f"A1:{last_col}{max(len(frame), 1) + 1}"
        ws.print_title_rows = "1:1"
        _print_setup(ws, sheet, result.as_of_year)
        ws.append([_styled(WriteOnlyCell(ws, value=h), font=bold, fill=header_fill, alignment=wrap) for h in headers])
        if frame.empty:
            ws.append([_styled(WriteOnlyCell(ws, value=say("sheet.empty")), font=Font(italic=True))])
            continue
        percent_cols = [j for j, h in enumerate(frame.columns) if h in PERCENT_HEADERS]
        wrapped = [j for j, h in enumerate(frame.columns) if h in WRAPPED_HEADERS]
        id_col = list(frame.columns).index(ID_HEADER)
        for i, values in enumerate(frame.itertuples(index=False, name=None), start=2):
            # rows are as tall as their longest wrapped reason (no spreadsheet grows a row by itself on opening)
            ws.row_dimensions[i].height = _height([(values[j], widths[j]) for j in wrapped])
            row: list = [_plain(v) for v in values]
            for j in percent_cols:
                if row[j] is not None:
                    row[j] = _styled(WriteOnlyCell(ws, value=row[j]), number_format="0.0%", alignment=top)
            for j in wrapped:
                row[j] = _styled(WriteOnlyCell(ws, value=row[j]), alignment=wrap)
            if ws.row_dimensions[i].height > LINE_HEIGHT:  # a tall row: every cell at its top, beside its reasons
                row = [c if isinstance(c, Cell) else _styled(WriteOnlyCell(ws, value=c), alignment=top) for c in row]
            if action:
                row += decisions.cells(action, values[id_col]) if decisions is not None else [None, None]
            ws.append(row)
        if action:
            column = get_column_letter(len(frame.columns) + 1)
            ws.data_validations.append(dropdown(action, f"{column}2:{column}{len(frame) + 1}"))
    if decisions is not None:
        decisions.mark(wb)
    wb.save(path)


def _height(cells: list[tuple[object, float]], chars_per_width: float = CHARS_PER_WIDTH) -> float:
    """The height (points) of a row whose ``cells`` (text, column width) wrap at spaces: its tallest cell's lines."""
    lines = 1
    for text, width in cells:
        if isinstance(text, str) and text:
            lines = max(lines, _lines(text, max(1, int(width * chars_per_width))))
    return LINE_HEIGHT * lines


def _lines(text: str, per_line: int) -> int:
    """How many lines ``text`` takes wrapped at spaces, ``per_line`` characters a line."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > per_line:
            lines, used = lines + 1, len(word)
        else:
            used += len(word) + (1 if used else 0)
        lines += max(0, (len(word) - 1) // per_line) if len(word) > per_line else 0
    return lines


def _styled(cell, *, font=None, fill=None, alignment=None, number_format=None):
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _plain(value):
    """A cell value openpyxl writes: numpy scalars to Python, NaN/NA to an empty cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and np.isnan(value):
            return None
    return value
