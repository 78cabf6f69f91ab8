"""The workbook an office fills in (``klinik template``): one sheet per table with the Indonesian headers of the
contract's declaration, a sheet of instructions in Indonesian, and Excel's own checks where they help.

What the office types there is what the loader reads back unchanged (``klinik validate``, ``klinik score``): the
headers and sheet names are the declaration's (data/contract.py ``Column.header``, ``Table.sheet``), the hints and
rules are the message catalogue's Indonesian words (data/messages.py), so the workbook cannot drift from the
contract. Excel's checks only help while typing -- a dropdown for codes, the kecamatan list, the cooperatives
already listed; a warning for a number or date out of range -- the validator stays the judge: number and date
checks warn rather than refuse, since a text cell written the Indonesian way ("Rp 570.584.777" in an
English-language Excel) is read by the loader all the same. Each header's comment gives the contract's name of the
column, what it holds and its rules. With the office's cooperatives (``--coops``) the Koperasi sheet is filled in
and the other sheets offer their IDs in a dropdown.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from klinik.data.atomic import atomic_file
from klinik.data.contract import (
    BULELENG_DISTRICTS,
    FIRST_YEAR,
    KINDS,
    OFFICE_TABLES,
    TABLE,
    TEMPLATE_INSTRUCTIONS_SHEET,
    AtLeast,
    Between,
    Column,
    Table,
    indonesian_names,
)
from klinik.data.messages import Msg

LAST_ROW = 1_048_576  # Excel's last row: the checks and formats cover every row an office may fill
MONEY_FORMAT = '"Rp "#,##0'  # Excel shows the office's separators: Rp 570.584.777 in an Indonesian Excel
# Each kind's cell format; text and codes as text, so that an ID like 007 keeps its zeros.
FORMATS = {
    **{"money": MONEY_FORMAT, "count": "#,##0", "year": "0", "number": "0.0", "date": "dd/mm/yyyy"},
    **{"text": "@", "code": "@", "flag": "General"},
}
HEADER_FILL = "DDEBF7"
# What a row of each sheet is, for the instructions (the sheet names and columns come from the declaration).
ROW_IS = {
    "cooperatives": "satu baris per koperasi yang pernah terdaftar, juga yang sudah dibubarkan",
    "financials": "satu baris per koperasi dan tahun buku: neraca dan perhitungan hasil usaha (tahun tanpa baris = "
    "koperasi tidak menyerahkan laporan tahun itu)",
    "staffing": "satu baris per koperasi dan tahun buku: anggota, pengurus, pengawas dan karyawan",
    "meetings": "satu baris per rapat yang diadakan (RAT, rapat pengurus, rapat pengawas); rapat yang tidak diadakan "
    "tidak ditulis",
    "health": "satu baris per koperasi dan tahun buku yang dinilai kesehatannya (wajib untuk melatih model, boleh "
    "kosong untuk menilai risiko)",
    "clinic_cases": "satu baris per kasus yang ditangani klinik (boleh kosong)",
}
INSTRUCTIONS = (
    "Templat data Klinik Koperasi",
    "",
    "Cara mengisi",
    "1. Isi satu lembar untuk setiap tabel (daftar di bawah). Baris 1 berisi judul kolom: jangan diubah, dihapus "
    "atau dipindah ke baris lain. Data mulai di baris 2.",
    "2. Jumlah rupiah ditulis sebagai angka atau seperti biasa: Rp 570.584.777 atau 570.584.777,50 (titik "
    "pemisah ribuan, koma desimal). Dalam satu lembar, pakai satu cara menulis angka saja.",
    "3. Tanggal ditulis hari/bulan/tahun: 14/09/2024 (atau 14-09-2024, atau tanggal Excel). Kolom ya/tidak: "
    "tulis ya atau tidak.",
    "4. Sel kosong berarti tidak ada data: hanya boleh di kolom yang tidak wajib diisi.",
    "5. Arahkan kursor ke judul kolom untuk melihat nama kolom di kontrak data, isinya dan aturannya. Daftar pilihan "
    "muncul di kolom kode, kecamatan dan ID koperasi.",
    "6. Simpan sebagai .xlsx dalam satu folder (satu buku kerja per folder), lalu periksa dengan "
    "klinik validate FOLDER. Dengan KLINIK_LANGUAGE=id laporannya dalam bahasa Indonesia; setiap masalah "
    "menyebut lembar, baris dan kolomnya. Setelah valid: klinik score --data FOLDER --as-of TAHUN --out FOLDER_HASIL.",
    "",
    "Lembar",
)
COLUMN_TABLE_HEADER = ("Lembar", "Kolom", "Nama di kontrak data", "Isi", "Wajib diisi", "Aturan")


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


def _said(table: str, text: str) -> str:
    return text.say("id", indonesian_names(table)) if isinstance(text, Msg) else text


def column_rules(table: Table, column: Column) -> list[str]:
    """A column's rules in Indonesian: its own, and those across the columns of a row reported on it."""
    rules = [Msg("must_be_unique").say("id")] if table.key == (column.name,) else []
    rules += [_said(table.name, r.words()) for r in column.rules]
    rules += [_said(table.name, r.words()) for r in table.rules if r.column == column.name]
    if column.name == "district":
        rules.append("untuk Buleleng salah satu dari " + ", ".join(BULELENG_DISTRICTS))
    return rules


def _comment(table: Table, column: Column) -> str:
    kind = _said(table.name, KINDS[column.kind][1])
    lines = [column.name, column.meaning, kind[:1].upper() + kind[1:]]
    lines.append("Boleh kosong." if column.optional else "Wajib diisi.")
    lines += [r[:1].upper() + r[1:] + "." for r in column_rules(table, column)]
    return "\n".join(line for line in lines if line)


def _validation(table: Table, column: Column):
    """Excel's check of a column while typing, or None where none helps (free text)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    kind, header = column.kind, column.header
    words = "; ".join(column_rules(table, column)) or _said(table.name, KINDS[kind][1])
    common = dict(
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        promptTitle=header[:32],
        prompt=words[:255],
        errorTitle=header[:32],
        error=words[:255],
    )
    limit = next((r for r in column.rules if isinstance(r, (AtLeast, Between))), None)
    if column.codes:
        return DataValidation(type="list", formula1=f'"{",".join(column.codes)}"', **common)
    if kind == "flag":
        return DataValidation(type="list", formula1='"ya,tidak"', **common)
    if column.name == "district":  # other regencies have other kecamatan: a suggestion, not a rule
        return DataValidation(type="list", formula1=f'"{",".join(BULELENG_DISTRICTS)}"', errorStyle="warning", **common)
    if column.name == "coop_id" and table.name != "cooperatives":
        sheet = TABLE["cooperatives"].sheet
        listed = f"OFFSET('{sheet}'!$A$2,0,0,MAX(1,COUNTA('{sheet}'!$A:$A)-1),1)"  # the IDs typed there so far
        return DataValidation(type="list", formula1=listed, **common)
    if table.key == (column.name,):  # an identifier: unique in its column
        letter = _letter(table.column_names.index(column.name) + 1)
        return DataValidation(type="custom", formula1=f"COUNTIF(${letter}:${letter},{letter}2)=1", **common)
    # numbers and dates: a warning, since a text cell written the Indonesian way is read all the same
    if kind == "year":
        return DataValidation(
            type="whole", operator="between", formula1=str(FIRST_YEAR), formula2="YEAR(TODAY())",
            errorStyle="warning", **common,
        )  # fmt: skip
    if kind == "date":
        return DataValidation(
            type="date", operator="between", formula1=f"DATE({FIRST_YEAR},1,1)",
            formula2="DATE(YEAR(TODAY()),12,31)", errorStyle="warning", **common,
        )  # fmt: skip
    if kind in ("count", "money", "number"):
        if isinstance(limit, AtLeast):
            bounds = dict(operator="greaterThan" if limit.strict else "greaterThanOrEqual", formula1=f"{limit.low:g}")
        elif isinstance(limit, Between):
            bounds = dict(operator="between", formula1=f"{limit.low:g}", formula2=f"{limit.high:g}")
        else:  # may be negative: any number
            bounds = dict(operator="between", formula1="-1E+15", formula2="1E+15")
        return DataValidation(type="whole" if kind == "count" else "decimal", errorStyle="warning", **bounds, **common)
    return None


def _table_sheet(wb, table: Table, rows: pd.DataFrame | None) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(table.sheet)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
    for i, column in enumerate(table.columns, start=1):
        letter = _letter(i)
        cell = ws.cell(row=1, column=i, value=column.header)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
        comment = Comment(_comment(table, column), "Klinik Koperasi")
        comment.width, comment.height = 320, 200
        cell.comment = comment
        ws.column_dimensions[letter].width = max(14, min(40, len(column.header) + 4))
        ws.column_dimensions[letter].number_format = FORMATS[column.kind]  # cells typed later take it
        check = _validation(table, column)
        if check is not None:
            ws.add_data_validation(check)
            check.add(f"{letter}2:{letter}{LAST_ROW}")
    ws.freeze_panes = "A2"
    if rows is not None:
        for r, record in enumerate(rows.itertuples(index=False), start=2):
            for i, (column, value) in enumerate(zip(table.columns, record), start=1):
                if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                    continue
                cell = ws.cell(row=r, column=i, value=value.item() if hasattr(value, "item") else value)
                cell.number_format = FORMATS[column.kind]


def _instructions_sheet(wb) -> None:
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet(TEMPLATE_INSTRUCTIONS_SHEET, 0)
    lines: list[tuple] = [(line,) for line in INSTRUCTIONS]
    lines += [(f"{TABLE[t].sheet}: {ROW_IS[t]}.",) for t in OFFICE_TABLES]
    lines += [("",), ("Kolom",), COLUMN_TABLE_HEADER]
    for name in OFFICE_TABLES:
        table = TABLE[name]
        for c in table.columns:
            kind = _said(name, KINDS[c.kind][1])
            rules = "; ".join(column_rules(table, c))
            lines.append((table.sheet, c.header, c.name, kind, "tidak" if c.optional else "ya", rules))
    for row in lines:
        ws.append(list(row))
    for row in (1, 3, len(INSTRUCTIONS), len(INSTRUCTIONS) + len(OFFICE_TABLES) + 2):
        ws.cell(row=row, column=1).font = Font(bold=True, size=14 if row == 1 else 11)
    for cell in ws[len(INSTRUCTIONS) + len(OFFICE_TABLES) + 3]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEF", (18, 28, 22, 45, 11, 70)):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=len(INSTRUCTIONS) + len(OFFICE_TABLES) + 3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def build_template(coops: pd.DataFrame | None = None):
    """The workbook (openpyxl): instructions first, then one sheet per table an office fills in; ``coops`` (the
    cooperatives table, typed as the loader gives it) fills the Koperasi sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    _instructions_sheet(wb)
    for name in OFFICE_TABLES:
        rows = coops[list(TABLE[name].column_names)] if name == "cooperatives" and coops is not None else None
        _table_sheet(wb, TABLE[name], rows)
    wb.active = 0
    return wb


def write_template(out: Path, coops: pd.DataFrame | None = None) -> Path:
    """Write the template to ``out`` (.xlsx) atomically: a reader never sees half a workbook; return ``out``."""
    with atomic_file(Path(out)) as tmp:
        build_template(coops).save(tmp)
    return Path(out)
