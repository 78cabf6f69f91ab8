"""What the data layer says to a person, in English and in Indonesian: one catalogue for every rule's words, every
hint, and every line of the report and the summaries ``klinik validate``, ``template`` and ``score`` print.

A message is a :class:`Msg`: a ``str`` holding its English text -- so code that compares, joins, logs or sends a
problem's rule works as it always did -- that also keeps its catalogue key and arguments, so a report can say it in
the office's language (``msg.say("id")``). Inside a message a column is a :class:`Col` and a table a :class:`Tab`:
English says their contract names, Indonesian the template's headers and sheet names (the caller passes the
lookup, data/contract.py ``indonesian_names``). Nothing here imports the project: the contract builds its rules'
words from this module.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

Language = Literal["en", "id"]  # the office's setting, klinik/settings.py ``language``

# key -> (English, Indonesian). An English text given as (one, many) is chosen by the argument n (1 or not).
# Arguments are str.format fields; a Col or Tab argument is said as a column's or table's name in each language.
CATALOGUE: dict[str, tuple[str | tuple[str, str], str]] = {
    # --- the rules of one column (data/contract.py) ---------------------------------------------------------------
    "at_least": ("must be >= {low:g}", "tidak boleh kurang dari {low:g}"),
    "more_than": ("must be > {low:g}", "harus lebih dari {low:g}"),
    "between": ("must be between {low:g} and {high:g}", "harus antara {low:g} dan {high:g}"),
    "one_of": ("must be one of {codes}", "harus salah satu dari {codes}"),
    "year_until": ("must be a year from {first} to {year}", "harus tahun dari {first} sampai {year}"),
    "year_until_now": ("must be a year from {first} to the current year", "harus tahun dari {first} sampai tahun ini"),
    "date_until": (
        "must be a date from {first}-01-01 to {year}-12-31",
        "harus tanggal dari 01/01/{first} sampai 31/12/{year}",
    ),
    "date_until_now": (
        "must be a date from {first}-01-01 to the end of the current year",
        "harus tanggal dari 01/01/{first} sampai akhir tahun ini",
    ),
    "listed_in": ("must be a {column} listed in {table}", "harus {column} yang tercantum di lembar {table}"),
    # --- the rules across the columns of a row --------------------------------------------------------------------
    "compare_ge": ("must be >= {others}", "tidak boleh kurang dari {others}"),
    "compare_le": ("must be <= {others}", "tidak boleh lebih dari {others}"),
    "on_or_after": ("must be on or after {others}", "tidak boleh sebelum {others}"),
    "sum_of": (
        "must equal {parts} within {within:.0%}",
        "harus sama dengan {parts} (selisih paling banyak {within:.0%})",
    ),
    "held_after_year": (
        "a {code} must be held after the end of its {year}",
        "{code} harus diadakan setelah {year} berakhir",
    ),
    "score_band": ("must match the score band ({bands})", "harus sesuai rentang skor ({bands})"),
    "cell_is": ("{column}={value}", "{column}={value}"),
    "cells": ("{cells}", "{cells}"),
    "empty": ("empty", "kosong"),
    # --- cells that cannot be read (data/cells.py): each says the forms that are read -----------------------------
    "not_money": (
        "must be a number (an amount in Rupiah: 570584777.5, Rp 570.584.777 or 570.584.777,50)",
        "harus berupa jumlah rupiah, misalnya Rp 570.584.777, 570.584.777,50 atau 570584777.5",
    ),
    "not_number": ("must be a number (72.5 or 72,5)", "harus berupa angka, misalnya 72,5 atau 72.5"),
    "not_whole": (
        "must be a whole number (1250 or 1.250)",
        "harus berupa bilangan bulat, misalnya 1250 atau 1.250",
    ),
    "not_year": ("must be a whole number (a year, such as 2024)", "harus berupa tahun, misalnya 2024"),
    "not_flag": ("must be true or false (ya or tidak)", "harus ya atau tidak (true atau false juga dibaca)"),
    "not_date": (
        "must be a date YYYY-MM-DD or DD/MM/YYYY (2024-09-14, 14/09/2024, 14-09-2024)",
        "harus berupa tanggal HH/BB/TTTT, misalnya 14/09/2024, 14-09-2024 atau 2024-09-14",
    ),
    "ambiguous_number": (
        "is ambiguous (1234 or 1.234?): this table writes numbers both as 1.234.567,5 and as 1234567.5; use one form",
        "tidak jelas (1234 atau 1,234?): tabel ini menulis angka dengan dua cara (1.234.567,5 dan 1234567.5); "
        "pakai satu cara saja",
    ),
    # --- what a cell of each kind holds (the contract page and the template's instructions) -----------------------
    "kind_text": ("text", "teks"),
    "kind_code": ("one of the codes listed (the office's own terms)", "salah satu kode yang tercantum"),
    "kind_year": ("a year, a whole number", "tahun, bilangan bulat, misalnya 2024"),
    "kind_count": ("a whole number", "bilangan bulat, misalnya 1.250"),
    "kind_money": (
        "an amount in Rupiah, decimals allowed: 570584777.5, Rp 570.584.777 or 570.584.777,50",
        "jumlah rupiah, boleh desimal: Rp 570.584.777 atau 570.584.777,50",
    ),
    "kind_number": ("a number, decimals allowed: 72.5 or 72,5", "angka, boleh desimal: 72,5"),
    "kind_flag": ("true or false (ya or tidak; 1 or 0 also read)", "ya atau tidak"),
    "kind_date": (
        "a date: YYYY-MM-DD (ISO 8601), DD/MM/YYYY or DD-MM-YYYY, or an Excel date",
        "tanggal HH/BB/TTTT, misalnya 14/09/2024 (atau 14-09-2024, 2024-09-14, tanggal Excel)",
    ),
    # --- rules checked by the schema or the table (data/rules.py, data/validation.py) -----------------------------
    "not_empty": ("must not be empty", "wajib diisi"),
    "must_be_unique": ("must be unique", "tidak boleh kembar"),
    "unique": (
        "{label} must be unique: the same as row {other}",
        "{label} tidak boleh kembar: sama dengan baris {other}",
    ),
    "wrong_type": (
        "has the wrong type: expected {expected}, got {got}",
        "tipenya salah: seharusnya {expected}, tertulis {got}",
    ),
    "not_checked": ("could not be checked ({check}): {case}", "tidak dapat diperiksa ({check}): {case}"),
    "column_twice": (
        "column appears more than once in the header",
        "kolom ini muncul lebih dari sekali di baris judul",
    ),
    "column_missing": (
        "required column is missing (columns found: {found})",
        "kolom wajib tidak ada (kolom yang ada: {found})",
    ),
    "none": ("none", "tidak ada"),
    "extra_columns": (
        "{file}: {table} has columns outside the data contract, ignored: {columns}",
        "{file}: lembar {table} memuat kolom di luar kontrak data, diabaikan: {columns}",
    ),
    "blank_rows": (
        "{file}: {n} blank row(s) in {table} ignored (row {rows})",
        "{file}: {n} baris kosong di {table} diabaikan (baris {rows})",
    ),
    "not_a_table": (
        "{file}: {name} is not a table of the data contract, ignored",
        "{file}: {name} bukan tabel kontrak data, diabaikan",
    ),
    "table_missing": ("required table is missing", "tabel wajib tidak ada"),
    "no_rows": ("has no rows", "tidak berisi baris"),
    "no_rows_to_train": (
        "has no rows (training needs {about})",
        "tidak berisi baris (pelatihan model memerlukan lembar {table})",
    ),
    # --- files and folders (data/loader.py) -----------------------------------------------------------------------
    "folder_missing": ("the dataset folder does not exist", "folder dataset tidak ada"),
    "is_a_file": (
        "is a file, not a dataset folder: put the tables (<table>.csv, <table>.parquet or one .xlsx workbook) in a "
        "folder and give the folder",
        "ini berkas, bukan folder dataset: taruh tabel-tabelnya (<tabel>.csv, <tabel>.parquet atau satu buku kerja "
        ".xlsx) dalam satu folder dan berikan folder itu",
    ),
    "cannot_read": ("cannot be read: {err}", "tidak dapat dibaca: {err}"),
    "file_empty": ("the file is empty (0 bytes)", "berkas ini kosong (0 byte)"),
    "looks_like": ("is not {expected}: it looks like {found}", "bukan {expected}: tampaknya {found}"),
    "a_csv": ("a CSV file", "berkas CSV"),
    "a_parquet": ("a Parquet file", "berkas Parquet"),
    "a_workbook": ("an Excel .xlsx workbook", "buku kerja Excel .xlsx"),
    "a_zip": ("an Excel workbook (or another zip archive)", "buku kerja Excel (atau arsip zip lain)"),
    "an_xls": ("an old Excel .xls workbook (save it as .xlsx)", "buku kerja Excel .xls lama (simpan sebagai .xlsx)"),
    "utf16": ("UTF-16 text (save it as 'CSV UTF-8')", "teks UTF-16 (simpan sebagai 'CSV UTF-8')"),
    "html": ("an HTML or XML page", "halaman HTML atau XML"),
    "binary": ("a binary file", "berkas biner"),
    "other_file": ("text or another kind of file", "teks atau berkas jenis lain"),
    "not_utf8_at": (
        "is not UTF-8 text (byte 0x{byte:02x} on line {line}); save it as 'CSV UTF-8'",
        "bukan teks UTF-8 (byte 0x{byte:02x} di baris {line}); simpan sebagai 'CSV UTF-8'",
    ),
    "not_utf8": ("is not UTF-8 text; save it as 'CSV UTF-8'", "bukan teks UTF-8; simpan sebagai 'CSV UTF-8'"),
    "header_unreadable": (
        "the header row cannot be read as CSV: {err}",
        "baris judul tidak dapat dibaca sebagai CSV: {err}",
    ),
    "header_empty": (
        "the header row is empty: row 1 must name the columns ({columns})",
        "baris judul kosong: baris 1 harus berisi nama kolom ({columns})",
    ),
    "separated_by": (
        "the columns are separated by {separator}; the contract wants commas (in Excel: save as "
        "'CSV UTF-8 (Comma delimited)')",
        "kolom dipisahkan dengan {separator}; kontrak data memakai koma (di Excel: simpan sebagai "
        "'CSV UTF-8 (Comma delimited)')",
    ),
    "semicolons": ("semicolons", "titik koma"),
    "tabs": ("tabs", "tab"),
    "header_twice": (
        "the header names a column more than once: {columns}",
        "baris judul menyebut kolom lebih dari sekali: {columns}",
    ),
    "ragged_row": (
        "has {saw} cells in a row but the header has {width} columns (a value holding a comma must be in double "
        "quotes)",
        "berisi {saw} sel dalam satu baris, padahal baris judul berisi {width} kolom (isian yang memuat koma harus "
        "diapit tanda petik dua)",
    ),
    "not_csv": ("cannot be read as CSV: {err}", "tidak dapat dibaca sebagai CSV: {err}"),
    "not_parquet": ("cannot be read as Parquet: {err}", "tidak dapat dibaca sebagai Parquet: {err}"),
    "sheet_no_header": (
        "the sheet has no header in row 1 (it must name the columns)",
        "lembar ini tidak punya baris judul di baris 1 (baris 1 harus berisi nama kolom)",
    ),
    "not_a_workbook": (
        "cannot be opened as an Excel workbook: {err}",
        "tidak dapat dibuka sebagai buku kerja Excel: {err}",
    ),
    "sheet_unreadable": ("sheet '{sheet}' cannot be read: {err}", "lembar '{sheet}' tidak dapat dibaca: {err}"),
    "xls_ignored": (
        "{file}: old Excel .xls workbooks are not read; save it as .xlsx",
        "{file}: buku kerja Excel .xls lama tidak dibaca; simpan sebagai .xlsx",
    ),
    "files_ignored": (
        "ignored files that are not tables of the data contract: {files}",
        "berkas yang bukan tabel kontrak data diabaikan: {files}",
    ),
    "two_workbooks": (
        "more than one Excel workbook in the folder ({files}): the contract wants one, a sheet per table; keep one",
        "ada lebih dari satu buku kerja Excel di folder ({files}): kontrak data memakai satu, satu lembar per tabel; "
        "simpan satu saja",
    ),
    "sheet_ignored": (
        "{book}: sheet '{sheet}' is not a table of the data contract, ignored",
        "{book}: lembar '{sheet}' bukan tabel kontrak data, diabaikan",
    ),
    "given_twice": (
        "the table is given more than once ({where}): keep one",
        "tabel ini ada lebih dari sekali ({where}): simpan satu saja",
    ),
    "in_sheet": ("{file} sheet '{sheet}'", "{file} lembar '{sheet}'"),
    "no_sheet": (
        "no sheet named '{name}' in {book} (nor '{sheet}'; sheets found: {found}; expected: {expected})",
        "tidak ada lembar bernama '{sheet}' di {book} (atau '{name}'; lembar yang ada: {found}; yang diperlukan: "
        "{expected_sheets})",
    ),
    "no_table_file": (
        "required table is missing: put {name}.csv or {name}.parquet in the folder, or a sheet '{name}' (or "
        "'{sheet}') in one .xlsx workbook (found: {found})",
        "tabel wajib tidak ada: taruh {name}.csv atau {name}.parquet di folder, atau lembar '{sheet}' di satu buku "
        "kerja .xlsx (yang ada: {found})",
    ),
    "no_files": ("no files", "tidak ada berkas"),
    # --- quarantine (data/quarantine.py) --------------------------------------------------------------------------
    "coop_quarantined": (
        "its cooperative was quarantined ({file} row {row})",
        "koperasinya dikarantina ({file} baris {row})",
    ),
    "quarantined": (
        "quarantined {n} row(s) that break the contract ({tables}{note}) with {problems} problem(s) into {path}",
        "{n} baris yang melanggar kontrak data ({tables}{note}) dengan {problems} masalah dikarantina ke {path}",
    ),
    "quarantined_cascade": (
        "; {n} of them because their cooperative was quarantined",
        "; {n} di antaranya karena koperasinya dikarantina",
    ),
    "table_rows": ("{table} {n}", "{table} {n}"),
    "nothing_quarantined": (
        "no rows quarantined ({path} lists none)",
        "tidak ada baris yang dikarantina ({path} kosong)",
    ),
    # --- the report (data/problems.py) ----------------------------------------------------------------------------
    "at_file": ("{file}", "{file}"),
    "at_sheet": ("{place} [{sheet}]", "{place}, lembar '{sheet}'"),
    "at_row": ("{place} row {row}", "{place}, baris {row}"),
    "at_column": ("{place}, column {column}", "{place}, kolom '{header}' ({column})"),
    "at_column_plain": ("{place}, column {column}", "{place}, kolom {column}"),
    "problem": ("{place}: {rule}", "{place}: {rule}"),
    "problem_got": ("{place}: {rule} (got {value})", "{place}: {rule} (tertulis: {value})"),
    "invalid": (
        "{where} is invalid: {n} {problems} in {t} {tables}",
        "{where} tidak valid: {n} masalah di {t} tabel",
    ),
    "the_dataset": ("the dataset", "dataset"),
    "dataset_at": ("dataset {source}", "dataset {source}"),
    "problems_word": (("problem", "problems"), "masalah"),
    "tables_word": (("table", "tables"), "tabel"),
    "table_heading": (("{table}: {n} problem", "{table}: {n} problems"), "{table}: {n} masalah"),
    "more_of_rule": ("... and {n} more: {rule}", "... dan {n} lagi: {rule}"),
    "not_listed": (
        "{n} problems not listed; use --quarantine FILE to get every offending row.",
        "{n} masalah tidak ditampilkan; pakai --quarantine BERKAS untuk mendapatkan setiap baris yang bermasalah.",
    ),
    # --- klinik validate's summary --------------------------------------------------------------------------------
    "valid": (
        "OK: {source} holds a valid dataset (data contract v{version}).",
        "OK: {source} berisi dataset yang valid (kontrak data v{version}).",
    ),
    "rows_of": ("  {table:<13} {n:>10,} rows", "  {table:<13} {n:>10} baris"),
    "coops_span": (
        "  {n:,} cooperatives ({dissolved:,} dissolved), {span}",
        "  {n} koperasi ({dissolved} dibubarkan), {span}",
    ),
    "fiscal_years": ("fiscal years {first}-{last}", "tahun buku {first}-{last}"),
    "no_fiscal_years": ("no fiscal years", "tanpa tahun buku"),
    "no_health": (
        "  no health assessments: enough to score, not to train",
        "  tidak ada penilaian kesehatan: cukup untuk menilai risiko, belum cukup untuk melatih model",
    ),
    "warnings": ("Warnings ({n}):", "Peringatan ({n}):"),
    "warning_line": ("  - {warning}", "  - {warning}"),
    "quarantine_unwritable": (
        "cannot write the quarantine file {path}: {err}",
        "berkas karantina {path} tidak dapat ditulis: {err}",
    ),
    # --- klinik template (data/cmd.py) ---------------------------------------------------------------------------
    "template_not_xlsx": (
        "--out must be an Excel workbook (.xlsx), got {out}",
        "--out harus buku kerja Excel (.xlsx), tertulis {out}",
    ),
    "template_coops_invalid": (
        "the cooperatives of {coops} are invalid; no template written",
        "data koperasi di {coops} tidak valid; templat tidak ditulis",
    ),
    "template_written": (
        "wrote {out}: instructions and a sheet per table to fill in, {n} cooperatives listed",
        "templat {out} ditulis: petunjuk dan satu lembar per tabel untuk diisi, {n} koperasi sudah tercantum",
    ),
    "cannot_write": ("cannot write {path}: {err}", "{path} tidak dapat ditulis: {err}"),
    # --- klinik score (serving/batch.py, serving/cmd.py) ---------------------------------------------------------
    "score_refused": (
        "the dataset {data} failed validation; nothing was scored, {out} is unchanged.",
        "dataset {data} tidak lolos pemeriksaan; tidak ada yang dinilai, {out} tidak berubah.",
    ),
    "as_of_outside": (
        "--as-of {as_of} is outside the dataset {data}, which holds fiscal years {first}-{last}",
        "--as-of {as_of} di luar dataset {data}, yang berisi tahun buku {first}-{last}",
    ),
    "scored": (
        "scored {n} cooperatives for {year} with {version}: {actions}",
        "{n} koperasi dinilai untuk tahun buku {year} dengan {version}: {actions}",
    ),
    "outputs_in": ("outputs in {out}/: {files}", "hasil di {out}/: {files}"),
}

Names = Callable[["Col | Tab"], str]


class Col(str):
    """A column's contract name inside a message: said in Indonesian as its header in the office's template."""


class Tab(str):
    """A table's contract name inside a message: said in Indonesian as its sheet in the office's template."""


@dataclass(frozen=True)
class Joined:
    """Several values said one after the other (``sep`` between): columns added up, codes, files."""

    items: tuple
    sep: str = ", "

    def __str__(self) -> str:
        return self.sep.join(map(str, self.items))


class Msg(str):
    """A message of the catalogue: its English text, which also knows its ``key`` and ``args`` (see the module)."""

    key: str
    args: dict

    def __new__(cls, key: str, **args) -> Msg:
        self = super().__new__(cls, _render(key, args, "en", None))
        self.key, self.args = key, args
        return self

    @classmethod
    def written(cls, english: str, key: str, **args) -> Msg:
        """A message whose English text is already written (for many rows at once, vectorised): the arguments
        are said in another language only when asked. ``english`` must be what ``Msg(key, **args)`` would say."""
        self = super().__new__(cls, english)
        self.key, self.args = key, args
        return self

    def __reduce__(self):  # pickled (a problem sent between processes) as its key and arguments
        return (_restore, (self.key, self.args))

    def say(self, language: Language = "en", names: Names | None = None) -> str:
        """The message in ``language``; ``names`` says a Col or Tab in Indonesian (default: its contract name)."""
        return _render(self.key, self.args, language, names)


def _restore(key: str, args: dict) -> Msg:
    return Msg(key, **args)


def say(text, language: Language = "en", names: Names | None = None) -> str:
    """Any value of a message (a Msg or anything else with ``say``, a Col, a Tab, Joined values, a number, plain
    text) in ``language``."""
    if isinstance(text, Msg) or (hasattr(text, "say") and not isinstance(text, str)):
        return text.say(language, names)
    if isinstance(text, (Col, Tab)):
        return names(text) if language != "en" and names is not None else str(text)
    if isinstance(text, Joined):
        return text.sep.join(say(item, language, names) for item in text.items)
    return text if isinstance(text, str) else str(text)


def _render(key: str, args: dict, language: Language, names: Names | None) -> str:
    english, indonesian = CATALOGUE[key]
    template = english if language == "en" else indonesian
    if isinstance(template, tuple):
        template = template[0] if args.get("n") == 1 else template[1]
    said = {
        k: v if isinstance(v, (int, float)) and not isinstance(v, bool) else say(v, language, names)
        for k, v in args.items()
    }
    return template.format(**said)


def fields(key: str) -> tuple[set[str], set[str]]:
    """The argument names the English and the Indonesian text of ``key`` use (a test holds them consistent)."""
    out = []
    for template in CATALOGUE[key]:
        templates = template if isinstance(template, tuple) else (template,)
        out.append({f for t in templates for _, f, _, _ in string.Formatter().parse(t) if f})
    return out[0], out[1]


def joined(items: Iterable, sep: str = ", ") -> Joined:
    return Joined(tuple(items), sep)
