"""The clinic staff's workbook: one sheet per list, Indonesian headers, every row a recommendation to decide on.

Sheets: Petunjuk (how to read it: recommendations, not decisions), Jangkau (outreach: healthy but at risk, up to
the clinic's capacity), Bina (treatment: sick and likely to recover, by clinic), Pantau Ketat (close watch),
Pertimbangan Pembubaran (closure review, with the evidence). Each list ends with two empty columns for the
officer's decision and note, so the workbook that comes back is the record of what a person decided.
Written with openpyxl's streaming writer (national lists run to tens of thousands of rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik.models.policy import ACTION_LABELS, DISCLAIMER_EN, DISCLAIMER_ID

if TYPE_CHECKING:
    from klinik.serving.decisions import InForce
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

STATUS_LABELS = {"SEHAT_NOW": "Sehat", "SAKIT_NOW": "Sakit", "UNASSESSED": "Belum dinilai"}
CLINIC_LABELS = {"KEUANGAN": "Keuangan", "SDM": "SDM", "KELEMBAGAAN": "Kelembagaan"}
SHEETS = {  # sheet name -> action listed
    "Jangkau": "JANGKAU",
    "Bina": "BINA",
    "Pantau Ketat": "PANTAU_KETAT",
    "Pertimbangan Pembubaran": "PERTIMBANGKAN_PEMBUBARAN",
}
PERCENT_HEADERS = {"Peluang sakit tahun depan", "Peluang pulih (2 tahun)"}
DECISION_HEADERS = ("Keputusan petugas", "Catatan")
MAX_WIDTH = 70


def _joined(result: ScoreResult) -> pd.DataFrame:
    return result.scores.merge(result.evidence, on="coop_id", how="left", validate="one_to_one")


def list_frames(result: ScoreResult) -> dict[str, pd.DataFrame]:
    """The four lists as DataFrames with the Indonesian headers the sheets show (also used by tests)."""
    df = _joined(result)
    base = {
        "ID koperasi": df["coop_id"],
        "Nama koperasi": df["name"],
        "Kecamatan": df["district"],
        "Jenis": df["coop_type"],
        "Klinik": df["clinic"].map(CLINIC_LABELS),
    }
    common = pd.DataFrame(base)
    common["Status kesehatan"] = df["status"].map(STATUS_LABELS)
    common["Peluang sakit tahun depan"] = df["p_sick_next"]
    common["Peluang pulih (2 tahun)"] = df["p_recover"]
    common["Lama sakit (tahun)"] = df["years_sick"]
    common["Tahun tanpa RAT berturut-turut"] = df["rat_missed_years"]
    common["Skor kesehatan terakhir"] = df["health_score"]
    common["Tren skor kesehatan (3 tahun)"] = df["score_trend"]
    common["Perubahan skor"] = df["score_change"]
    common["Alasan utama"] = df["reasons"]
    common["Rekomendasi"] = df["action"].map(lambda a: ACTION_LABELS[a][0])
    common["Urutan"] = df["rank"]

    columns = {
        "Jangkau": [
            "Urutan",
            "ID koperasi",
            "Nama koperasi",
            "Kecamatan",
            "Jenis",
            "Status kesehatan",
            "Peluang sakit tahun depan",
            "Klinik",
            "Alasan utama",
            "Rekomendasi",
        ],
        "Bina": [
            "Klinik",
            "ID koperasi",
            "Nama koperasi",
            "Kecamatan",
            "Jenis",
            "Peluang pulih (2 tahun)",
            "Lama sakit (tahun)",
            "Skor kesehatan terakhir",
            "Alasan utama",
            "Rekomendasi",
        ],
        "Pantau Ketat": [
            "Klinik",
            "ID koperasi",
            "Nama koperasi",
            "Kecamatan",
            "Jenis",
            "Peluang pulih (2 tahun)",
            "Lama sakit (tahun)",
            "Tahun tanpa RAT berturut-turut",
            "Skor kesehatan terakhir",
            "Alasan utama",
            "Rekomendasi",
        ],
        "Pertimbangan Pembubaran": [
            "ID koperasi",
            "Nama koperasi",
            "Kecamatan",
            "Jenis",
            "Lama sakit (tahun)",
            "Tahun tanpa RAT berturut-turut",
            "Peluang pulih (2 tahun)",
            "Tren skor kesehatan (3 tahun)",
            "Perubahan skor",
            "Klinik",
            "Alasan utama",
            "Rekomendasi",
        ],
    }
    frames = {}
    for sheet, action in SHEETS.items():
        rows = common.loc[df["action"] == action]
        if sheet == "Bina" or sheet == "Pantau Ketat":  # by clinic, so each clinic takes its own block
            # the clinic of these rows only: a Series assigned to an empty frame would bring all its rows in
            clinic = df.loc[rows.index, "clinic"].to_numpy()
            rows = rows.assign(_c=clinic).sort_values(["_c", "Urutan"], kind="stable").drop(columns="_c")
        frames[sheet] = rows[columns[sheet]].reset_index(drop=True)
    return frames


def _guide_rows(result: ScoreResult, settings: Settings, frames: dict[str, pd.DataFrame]) -> list[list]:
    s = settings
    counts = result.scores["action"].value_counts()
    return [
        [f"Klinik Koperasi: daftar rekomendasi tahun buku {result.as_of_year}"],
        [],
        ["PENTING", DISCLAIMER_ID],
        ["IMPORTANT", DISCLAIMER_EN],
        [],
        ["Lembar", "Isi"],
        [
            "Jangkau",
            f"Koperasi sehat yang berisiko sakit tahun depan (peluang >= {s.jangkau_threshold:.0%}), paling "
            f"banyak {result.capacity} sesuai kapasitas klinik, urut dari peluang tertinggi.",
        ],
        ["Bina", f"Koperasi sakit dengan peluang pulih dalam 2 tahun >= {s.bina_threshold:.0%}, per klinik."],
        ["Pantau Ketat", "Koperasi sakit dengan peluang pulih lebih rendah: pantau dan nilai kembali."],
        [
            "Pertimbangan Pembubaran",
            f"Koperasi sakit >= {s.closure_min_years_sick} tahun dengan peluang pulih < "
            f"{s.closure_recover_threshold:.0%}, atau {s.inactive_years_without_rat} tahun atau lebih tanpa RAT "
            f"(masalah kelembagaan) dengan peluang pulih < {s.bina_threshold:.0%}. Hanya untuk ditinjau: "
            f"pembubaran mengikuti UU 25/1992 Pasal 46-47 dan diputuskan oleh pejabat yang berwenang.",
        ],
        [],
        ["Kolom", "Arti"],
        ["Peluang sakit tahun depan", "Perkiraan model: peluang koperasi masuk Dalam Pengawasan tahun depan."],
        ["Peluang pulih (2 tahun)", "Perkiraan model: peluang koperasi sakit kembali sehat dalam dua tahun."],
        ["Klinik", "Klinik tempat penyebab utama risiko berada: Keuangan, SDM atau Kelembagaan."],
        [
            "Alasan utama",
            "Tiga faktor yang paling menaikkan risiko, dengan bagiannya dari seluruh faktor yang menaikkan risiko.",
        ],
        ["Keputusan petugas, Catatan", "Diisi petugas: keputusan yang diambil dan alasannya."],
        [],
        ["Ringkasan", "Jumlah"],
        ["Koperasi dinilai", len(result.scores)],
        *[[ACTION_LABELS[a][0], int(counts.get(a, 0))] for a in ACTION_LABELS],
        [],
        ["Versi model", result.model_version],
    ]


def _width(header: str, values: pd.Series) -> float:
    """Wide enough for the header and for 95% of the values (a few very long reasons may wrap)."""
    lengths = values.dropna().astype(str).str.len()
    longest = int(lengths.quantile(0.95)) if len(lengths) else 0
    return float(min(MAX_WIDTH, max(len(header), longest) + 2))


def write_workbook(
    path: Path,
    result: ScoreResult,
    settings: Settings,
    decisions: InForce | None = None,
    sheets: list[str] | None = None,
) -> None:
    """Write the clinic's workbook to ``path`` (the caller makes it atomic by writing into a temp folder).

    ``decisions``: the decisions in force (serving/decisions.py) go into the decision columns; every decision
    cell gets a drop-down of the decisions allowed on its sheet's action. ``sheets``: only these lists (after the
    Petunjuk sheet), e.g. the staff page's download of one list.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from klinik.serving.decisions import dropdown

    frames = list_frames(result)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")

    guide = wb.create_sheet("Petunjuk")
    guide.column_dimensions["A"].width = 30
    guide.column_dimensions["B"].width = 110
    for i, row in enumerate(_guide_rows(result, settings, frames)):
        cells = []
        for j, value in enumerate(row):
            cell = WriteOnlyCell(guide, value=value)
            if i == 0 or j == 0 or row[0] in ("PENTING", "IMPORTANT"):
                cell.font = bold
            if j == 1:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        guide.append(cells)

    for sheet, frame in frames.items():
        if sheets is not None and sheet not in sheets:
            continue
        ws = wb.create_sheet(sheet)
        headers = [*frame.columns, *DECISION_HEADERS]
        for j, header in enumerate(headers, start=1):
            values = frame[header] if header in frame else pd.Series(dtype=str)
            ws.column_dimensions[get_column_letter(j)].width = _width(header, values)
        ws.freeze_panes = "A2"
        ws.append([_styled(WriteOnlyCell(ws, value=h), font=bold, fill=header_fill) for h in headers])
        percent_cols = [j for j, h in enumerate(frame.columns) if h in PERCENT_HEADERS]
        id_col = list(frame.columns).index("ID koperasi")
        for values in frame.itertuples(index=False, name=None):
            row: list = [_plain(v) for v in values]
            for j in percent_cols:
                if row[j] is not None:
                    cell = WriteOnlyCell(ws, value=row[j])
                    cell.number_format = "0.0%"
                    row[j] = cell
            ws.append(row + (decisions.cells(SHEETS[sheet], values[id_col]) if decisions else [None, None]))
        if len(frame):
            column = get_column_letter(len(frame.columns) + 1)
            ws.data_validations.append(dropdown(SHEETS[sheet], f"{column}2:{column}{len(frame) + 1}"))
    if decisions is not None:
        decisions.mark(wb)
    wb.save(path)


def _styled(cell, *, font=None, fill=None):
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
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
