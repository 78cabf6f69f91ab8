"""The data contract, declared once: every table, its columns, their types, meanings and rules.

Everything else that needs the columns derives from ``TABLES`` and ``SCORES`` below: the pandera schemas that
check a dataset (data/rules.py), the request and response types of the HTTP service (serving/schemas.py), the
service's fast request check (through those schemas), the simulator's column lists (``COLUMNS``, ``DTYPES``)
and docs/data-contract.md (``python -m klinik.data.contract_doc``). Adding a column is one line here, plus the
simulator's generator, which must write it.

A rule is declared as data (``AtLeast(0)``, ``Compare("current_assets", ">=", ("cash",))``); its words are the
error message a clinic officer reads, and the same words stand in the documentation. The words come from the one
message catalogue (data/messages.py), in English and in Indonesian.

Every table an office fills in has an Indonesian sheet name and every column an Indonesian header, declared beside
its contract name: ``klinik template`` writes them, the loader reads them as well as the contract's names, and an
Indonesian report names columns by them.
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass
from typing import Literal

from klinik.data.messages import Col, Msg, Names, Tab, joined

VERSION = "1.1"
CHANGES = (  # what each version changed, newest last (docs/data-contract.md shows them)
    (
        "1.1",
        "status codes SEHAT / SAKIT / BELUM_DINILAI replace SEHAT_NOW / SAKIT_NOW / UNASSESSED; outputs written "
        "before stay readable: a reader that meets the v1 codes maps them (STATUS_V1)",
    ),
)
FIRST_YEAR = 1900  # the earliest year or date the contract accepts


def current_year() -> int:
    """A year after this one is an error in any year or date column."""
    return _dt.date.today().year


# --- codes: the office's own terms, each with what it means (empty where the code says it all) ----------------

COOP_TYPE_CODES = {
    "KSP": "koperasi simpan pinjam: savings and loans",
    "KSU": "koperasi serba usaha: multi-purpose",
    "KUD": "koperasi unit desa: village cooperative",
    "KPRI": "koperasi pegawai Republik Indonesia: civil servants",
    "KONSUMEN": "consumers",
    "PRODUSEN": "producers",
    "PEMASARAN": "marketing",
    "JASA": "services",
}
MEETING_TYPE_CODES = {
    "RAT": "Rapat Anggota Tahunan, the annual members' meeting",
    "RAPAT_PENGURUS": "board meeting",
    "RAPAT_PENGAWAS": "supervisors' meeting",
}
HEALTH_CATEGORY_CODES = {
    "SEHAT": "healthy",
    "CUKUP_SEHAT": "fairly healthy",
    "DALAM_PENGAWASAN": "under supervision",
    "DALAM_PENGAWASAN_KHUSUS": "under special supervision",
}
CLINIC_CODES = {"KEUANGAN": "finance", "SDM": "people", "KELEMBAGAAN": "governance, RAT"}
CASE_OUTCOME_CODES = {"PULIH": "recovered", "BERLANJUT": "still in treatment", "DIBUBARKAN": "dissolved"}
STATUS_CODES = {
    "SEHAT": "the latest assessment is SEHAT or CUKUP_SEHAT",
    "SAKIT": "the latest assessment is DALAM_PENGAWASAN or DALAM_PENGAWASAN_KHUSUS",
    "BELUM_DINILAI": "no recent assessment",
}
# The status codes of contract v1, as a reader of an older output maps them.
STATUS_V1 = {"SEHAT_NOW": "SEHAT", "SAKIT_NOW": "SAKIT", "UNASSESSED": "BELUM_DINILAI"}
ACTION_HEALTHY_CODES = {"JANGKAU": "reach out now", "PANTAU": "watch"}
ACTION_SICK_CODES = {"BINA": "treat", "PANTAU_KETAT": "close watch", "PERTIMBANGKAN_PEMBUBARAN": "consider closure"}

COOP_TYPES = tuple(COOP_TYPE_CODES)
MEETING_TYPES = tuple(MEETING_TYPE_CODES)
HEALTH_CATEGORIES = tuple(HEALTH_CATEGORY_CODES)
SICK_CATEGORIES = ("DALAM_PENGAWASAN", "DALAM_PENGAWASAN_KHUSUS")
CLINICS = tuple(CLINIC_CODES)
CASE_OUTCOMES = tuple(CASE_OUTCOME_CODES)
STATUSES = tuple(STATUS_CODES)
STATUS_SEHAT, STATUS_SAKIT, STATUS_BELUM_DINILAI = STATUSES
ACTIONS_HEALTHY = tuple(ACTION_HEALTHY_CODES)
ACTIONS_SICK = tuple(ACTION_SICK_CODES)
BULELENG_DISTRICTS = (
    "Gerokgak",
    "Seririt",
    "Busungbiu",
    "Banjar",
    "Sukasada",
    "Buleleng",
    "Sawan",
    "Kubutambahan",
    "Tejakula",
)
# Score bands of the health assessment (docs/domain.md): the lowest score of each category, best first.
HEALTH_SCORE_BANDS = (
    ("SEHAT", 80.0),
    ("CUKUP_SEHAT", 66.0),
    ("DALAM_PENGAWASAN", 51.0),
    ("DALAM_PENGAWASAN_KHUSUS", float("-inf")),
)


# --- rules of one column ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtLeast:
    """The value is >= ``low`` (> ``low`` when ``strict``)."""

    low: float
    strict: bool = False

    def words(self, year: int | None = None) -> Msg:
        return Msg("more_than" if self.strict else "at_least", low=self.low)


@dataclass(frozen=True)
class Between:
    """The value lies in [``low``, ``high``]."""

    low: float
    high: float

    def words(self, year: int | None = None) -> Msg:
        return Msg("between", low=self.low, high=self.high)


@dataclass(frozen=True, eq=False)
class OneOf:
    """The value is one of ``codes``; ``meanings`` say what each code means (for people, not for the check)."""

    meanings: dict[str, str]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.meanings)

    def words(self, year: int | None = None) -> Msg:
        return Msg("one_of", codes=joined(self.codes))


@dataclass(frozen=True)
class InYears:
    """A year (or a date's year) from FIRST_YEAR to the current year: nothing is dated in the future."""

    date: bool = False

    def words(self, year: int | None = None) -> Msg:
        """With ``year`` (the current year) in an error; without, as the documentation says it."""
        if self.date:
            return Msg("date_until", first=FIRST_YEAR, year=year) if year else Msg("date_until_now", first=FIRST_YEAR)
        return Msg("year_until", first=FIRST_YEAR, year=year) if year else Msg("year_until_now", first=FIRST_YEAR)


@dataclass(frozen=True)
class ListedIn:
    """A foreign key: the value is a key of ``table`` (checked when that table is checked too)."""

    table: str
    column: str

    def words(self, year: int | None = None) -> Msg:
        return Msg("listed_in", column=Col(self.column), table=Tab(self.table))


ColumnRule = AtLeast | Between | OneOf | InYears | ListedIn

# --- rules across columns of one row (reported on ``column``, showing the values of ``shows``) --------------------


@dataclass(frozen=True)
class Compare:
    """``column`` >= (or <=) the sum of ``others``; money within half a sen."""

    column: str
    op: Literal[">=", "<="]
    others: tuple[str, ...]
    text: str = ""  # the catalogue's key of the words, where the default ("must be >= a + b") reads badly

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.column, *self.others)

    def words(self) -> Msg:
        key = self.text or ("compare_ge" if self.op == ">=" else "compare_le")
        return Msg(key, others=joined(map(Col, self.others), " + "))


@dataclass(frozen=True)
class SumOf:
    """``column`` equals the sum of ``parts`` within the share ``within`` of ``column``."""

    column: str
    parts: tuple[str, ...]
    within: float

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.column, *self.parts)

    def words(self) -> Msg:
        return Msg("sum_of", parts=joined(map(Col, self.parts), " + "), within=self.within)


@dataclass(frozen=True)
class HeldAfterYear:
    """A meeting of kind ``code`` (in ``kind``) is held on a date (``column``) after the end of ``year``."""

    column: str
    year: str
    kind: str
    code: str

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.kind, self.year, self.column)

    def words(self) -> Msg:
        return Msg("held_after_year", code=self.code, year=Col(self.year))


@dataclass(frozen=True)
class InScoreBand:
    """The category (``column``) is the one whose HEALTH_SCORE_BANDS band holds ``score``."""

    column: str
    score: str

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.column, self.score)

    def words(self) -> Msg:
        parts, upper = [], None
        for name, low in HEALTH_SCORE_BANDS:
            if upper is None:
                parts.append(f"{name} >={low:g}")
            elif low != float("-inf"):
                parts.append(f"{name} {low:g}..<{upper:g}")
            else:
                parts.append(f"{name} <{upper:g}")
            upper = low
        return Msg("score_band", bands=", ".join(parts))


RowRule = Compare | SumOf | HeldAfterYear | InScoreBand

# --- columns and tables ------------------------------------------------------------------------------------------

Kind = Literal["text", "code", "year", "count", "money", "number", "flag", "date"]
# Each kind of cell: its dtype in memory after loading (every loader returns exactly these, so features never guess;
# text is pandas' string dtype, "str" in pandas 3; NaN / NaT = missing) and what a cell of it holds, in words.
KINDS: dict[str, tuple[str, Msg]] = {
    "text": ("str", Msg("kind_text")),
    "code": ("str", Msg("kind_code")),
    "year": ("int64", Msg("kind_year")),
    "count": ("int64", Msg("kind_count")),
    "money": ("float64", Msg("kind_money")),
    "number": ("float64", Msg("kind_number")),
    "flag": ("bool", Msg("kind_flag")),
    "date": ("datetime64[ns]", Msg("kind_date")),
}


@dataclass(frozen=True)
class Column:
    """One column: its name, kind, meaning (with the office's Indonesian term), whether a cell may be empty,
    its rules, a note for what no check says, and its header in the office's Indonesian template."""

    name: str
    kind: Kind
    meaning: str = ""
    rules: tuple[ColumnRule, ...] = ()
    optional: bool = False  # the cell may be empty (a missing value); every other cell is required
    note: str = ""
    header: str = ""  # the Indonesian header (klinik template writes it, the loader reads it); "" for no template

    @property
    def dtype(self) -> str:
        dtype = KINDS[self.kind][0]
        return "Int64" if dtype == "int64" and self.optional else dtype  # a whole number that may be empty

    @property
    def codes(self) -> tuple[str, ...]:
        return next((r.codes for r in self.rules if isinstance(r, OneOf)), ())

    @property
    def unit(self) -> str:
        return "Rupiah" if self.kind == "money" else ""


# Each column is declared as (contract name, Indonesian header, meaning, ...): the header is what the office's
# template shows and what the loader also accepts; "" where no office fills the table in (truth, scores).


def text(name: str, header: str, meaning: str = "", *rules: ColumnRule, **kw) -> Column:
    return Column(name, "text", meaning, rules, header=header, **kw)


def code(name: str, header: str, meanings: dict[str, str], meaning: str = "", **kw) -> Column:
    return Column(name, "code", meaning, (OneOf(meanings),), header=header, **kw)


def year(name: str, header: str, meaning: str = "", **kw) -> Column:
    return Column(name, "year", meaning, (InYears(),), header=header, **kw)


def date(name: str, header: str, meaning: str = "", **kw) -> Column:
    return Column(name, "date", meaning, (InYears(date=True),), header=header, **kw)


def count(name: str, header: str, meaning: str = "", **kw) -> Column:
    return Column(name, "count", meaning, (AtLeast(0),), header=header, **kw)


def money(name: str, header: str, meaning: str, *rules: ColumnRule, **kw) -> Column:
    """An amount in Rupiah, >= 0 unless other rules are given."""
    return Column(name, "money", meaning, rules or (AtLeast(0),), header=header, **kw)


def signed_money(name: str, header: str, meaning: str) -> Column:
    return Column(name, "money", meaning, note="may be negative", header=header)


def flag(name: str, header: str, meaning: str) -> Column:
    return Column(name, "flag", meaning, header=header)


def probability(name: str, header: str, meaning: str, **kw) -> Column:
    return Column(name, "number", meaning, (Between(0, 1),), header=header, **kw)


def interval(name: str) -> tuple[Column, ...]:
    """The ends of the 80% interval of the probability ``name`` (``name_lo``, ``name_hi``): empty where it is."""
    note = f"empty where {name} is, or from a model trained before intervals existed"
    return tuple(
        probability(f"{name}_{end}", "", f"the {word} end of the 80% interval of {name}", optional=True, note=note)
        for end, word in (("lo", "lower"), ("hi", "upper"))
    )


def coop_id(meaning: str = "the cooperative") -> Column:
    """The coop_id of a table about cooperatives: a key of the cooperatives table."""
    return text("coop_id", "ID koperasi", meaning, ListedIn("cooperatives", "coop_id"))


# Who needs a table: "required" always; "train" to train (optional to score); "optional"; "simulator" (written
# only by a simulator, never read by features, training or serving); "output" (written by scoring).
Use = Literal["required", "train", "optional", "simulator", "output"]


@dataclass(frozen=True)
class Table:
    """One table: what a row is, its columns, its key, who needs it and the rules across its columns."""

    name: str
    about: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    use: Use = "required"
    needs_rows: bool = False  # a header-only table is refused (else valid: e.g. no meeting was held)
    rules: tuple[RowRule, ...] = ()
    notes: tuple[str, ...] = ()
    sheet: str = ""  # the sheet's name in the office's Indonesian template (also read as a file or sheet name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def contract_name(self, header: str) -> str | None:
        """The column a file's header names: its contract name as written, or its Indonesian header written in
        any case and spacing ("Kas dan bank", "KAS DAN  BANK"); None for a column outside the contract."""
        if header in self.column_names:
            return header
        return _by_header(self).get(_fold(header))

    @property
    def refers_to_cooperatives(self) -> bool:
        return any(isinstance(r, ListedIn) and r.table == "cooperatives" for c in self.columns for r in c.rules)


# --- the declaration ---------------------------------------------------------------------------------------------

TABLES: tuple[Table, ...] = (
    Table(
        "cooperatives",
        "one row per cooperative ever registered",
        (
            text("coop_id", "ID koperasi", "the cooperative's identifier, as the office writes it"),
            text("name", "Nama koperasi", "registered name"),
            code("coop_type", "Jenis koperasi", COOP_TYPE_CODES, "jenis koperasi"),
            text("district", "Kecamatan", "kecamatan", note="for Buleleng one of " + ", ".join(BULELENG_DISTRICTS)),
            year("founded_year", "Tahun berdiri", "the year it was registered"),
            year(
                "dissolved_year",
                "Tahun dibubarkan",
                "the year it was dissolved",
                optional=True,
                note="empty while it exists",
            ),
        ),
        key=("coop_id",),
        needs_rows=True,
        rules=(Compare("dissolved_year", ">=", ("founded_year",)),),
        sheet="Koperasi",
    ),
    Table(
        "financials",
        "annual statements (neraca + perhitungan hasil usaha)",
        (
            coop_id(),
            year("year", "Tahun buku", "fiscal year (tahun buku)"),
            money("cash", "Kas dan bank", "kas + bank"),
            money("current_assets", "Aktiva lancar", "aktiva lancar"),
            money("total_assets", "Total aset", "total aset", AtLeast(0, strict=True)),
            money(
                "loans_outstanding",
                "Pinjaman diberikan",
                "pinjaman diberikan (gross)",
                note="0 for a cooperative that does not lend",
            ),
            money("loans_to_members", "Pinjaman kepada anggota", "pinjaman kepada anggota"),
            money("loans_substandard", "Pinjaman kurang lancar", "pinjaman kurang lancar (PKL)"),
            money("loans_doubtful", "Pinjaman diragukan", "pinjaman diragukan (PDR)"),
            money("loans_loss", "Pinjaman macet", "pinjaman macet (PM)"),
            money("loan_loss_reserve", "Cadangan risiko", "cadangan risiko"),
            money("current_liabilities", "Kewajiban lancar", "kewajiban lancar"),
            money("total_liabilities", "Total kewajiban", "total kewajiban"),
            money(
                "voluntary_savings",
                "Simpanan sukarela dan berjangka",
                "simpanan sukarela + berjangka (members' deposits)",
            ),
            money("external_borrowings", "Pinjaman dari bank dan lembaga lain", "pinjaman dari bank / lembaga lain"),
            signed_money("equity", "Modal sendiri", "modal sendiri"),
            money("principal_savings", "Simpanan pokok", "simpanan pokok"),
            money("mandatory_savings", "Simpanan wajib", "simpanan wajib"),
            money("gross_participation", "Partisipasi bruto", "partisipasi bruto (revenue from members' business)"),
            money("other_revenue", "Pendapatan lain", "pendapatan dari non-anggota dan lain-lain"),
            money("operating_expenses", "Beban usaha", "beban usaha"),
            money("personnel_expenses", "Biaya karyawan", "biaya karyawan"),
            signed_money("net_income", "SHU sebelum pajak", "SHU sebelum pajak"),
        ),
        key=("coop_id", "year"),
        needs_rows=True,
        rules=(
            Compare("current_assets", ">=", ("cash",)),
            Compare("total_assets", ">=", ("current_assets",)),
            Compare("loans_to_members", "<=", ("loans_outstanding",)),
            Compare("loans_outstanding", ">=", ("loans_substandard", "loans_doubtful", "loans_loss")),
            Compare("total_liabilities", ">=", ("current_liabilities",)),
            SumOf("total_assets", ("total_liabilities", "equity"), within=0.01),
            Compare("personnel_expenses", "<=", ("operating_expenses",)),
        ),
        notes=("A year with no row means the cooperative filed no statement that year: information, not an error.",),
        sheet="Keuangan",
    ),
    Table(
        "staffing",
        "people, one row per cooperative and year",
        (
            coop_id(),
            year("year", "Tahun buku", "fiscal year (tahun buku)"),
            count("members", "Jumlah anggota", "anggota at year end"),
            count("board_members", "Jumlah pengurus", "pengurus"),
            count("supervisors", "Jumlah pengawas", "pengawas"),
            count("employees", "Jumlah karyawan", "karyawan"),
            flag("has_manager", "Ada manajer", "a hired professional manager (manajer)"),
            count("certified_staff", "Bersertifikat kompetensi", "pengurus and karyawan with a competency certificate"),
            count("trained_staff", "Ikut pelatihan", "people who attended training that year"),
            count("staff_departures", "Karyawan keluar", "employees who left that year"),
        ),
        key=("coop_id", "year"),
        needs_rows=True,
        rules=(Compare("certified_staff", "<=", ("board_members", "employees")),),
        sheet="SDM",
    ),
    Table(
        "meetings",
        "one row per meeting held; no row means not held",
        (
            coop_id(),
            code("meeting_type", "Jenis rapat", MEETING_TYPE_CODES, "kind of meeting"),
            year(
                "fiscal_year",
                "Tahun buku",
                "for a RAT the book year whose accounts it approves; otherwise the year it was held",
            ),
            date("held_on", "Tanggal rapat", "the day it was held"),
            count("attendees", "Jumlah hadir", "members present", optional=True),
        ),
        rules=(HeldAfterYear("held_on", year="fiscal_year", kind="meeting_type", code="RAT"),),
        notes=(
            "The law (UU 25/1992) wants the RAT within six months after the book year; the Buleleng office asks "
            "for it by the end of March. Both deadlines are settings, not constants.",
        ),
        sheet="Rapat",
    ),
    Table(
        "health",
        "the office's assessments (penilaian kesehatan koperasi)",
        (
            coop_id(),
            year("year", "Tahun buku", "fiscal year assessed"),
            code("category", "Predikat kesehatan", HEALTH_CATEGORY_CODES, "predikat kesehatan"),
            Column(
                "score",
                "number",
                "total score of the assessment",
                (Between(0, 100),),
                optional=True,
                header="Skor kesehatan",
            ),
        ),
        key=("coop_id", "year"),
        use="train",
        rules=(InScoreBand("category", score="score"),),
        sheet="Kesehatan",
    ),
    Table(
        "clinic_cases",
        "the clinic's work, one row per case",
        (
            text("case_id", "ID kasus", "the case's identifier"),
            coop_id(),
            code("clinic", "Klinik", CLINIC_CODES, "which clinic treats it"),
            date("opened_on", "Tanggal dibuka", "the day the case was opened"),
            date("closed_on", "Tanggal ditutup", "the day the case was closed", optional=True, note="empty while open"),
            code("outcome", "Hasil", CASE_OUTCOME_CODES, "how the case ended", optional=True, note="empty while open"),
        ),
        key=("case_id",),
        use="optional",
        rules=(Compare("closed_on", ">=", ("opened_on",), text="on_or_after"),),
        sheet="Kasus klinik",
    ),
    Table(
        "truth",
        "the probabilities the simulator drew its labels with",
        (
            coop_id(),
            year("year", "", "fiscal year"),
            probability(
                "p_sick_next",
                "",
                "for a cooperative not sick at year: the probability used to draw sick at year + 1",
                optional=True,
            ),
            probability(
                "p_recover",
                "",
                "for a cooperative sick at year: the probability used to draw recovered within two years",
                optional=True,
            ),
            code(
                "cause",
                "",
                CLINIC_CODES,
                "for a cooperative sick at year: the cause the simulator gave it",
                optional=True,
            ),
        ),
        key=("coop_id", "year"),
        use="simulator",
    ),
)

# What batch scoring writes (scores.csv and .parquet), and what the service returns per cooperative.
SCORES = Table(
    "scores",
    "one row per cooperative scored for as_of_year",
    (
        text("coop_id", "", "the cooperative"),
        year("as_of_year", "", "the fiscal year scored"),
        code("status", "", STATUS_CODES, "health at as_of_year"),
        probability(
            "p_sick_next",
            "",
            "calibrated probability of being sick next year",
            optional=True,
            note="empty for a cooperative sick now",
        ),
        *interval("p_sick_next"),
        probability(
            "p_recover",
            "",
            "calibrated probability of recovering within two years",
            optional=True,
            note="empty for a cooperative not sick now",
        ),
        *interval("p_recover"),
        code("clinic", "", CLINIC_CODES, "where the main cause of its risk lies"),
        text(
            "reasons",
            "",
            "the top reasons, in words, the clinic's area first, each with the percentage points it adds to "
            "p_sick_next (for a cooperative sick now: why it fell sick, without points)",
        ),
        code(
            "action",
            "",
            {**ACTION_HEALTHY_CODES, **ACTION_SICK_CODES},
            "what to do: a recommendation to a person, never a decision",
            note=f"{' or '.join(ACTIONS_HEALTHY)} for a healthy cooperative; {', '.join(ACTIONS_SICK)} for a sick one",
        ),
        Column("rank", "count", "outreach order, 1 first", (AtLeast(1),)),
        text("model_version", "", "the MLflow registered model versions that produced the row"),
    ),
    key=("coop_id",),
    use="output",
)

# --- derived names (for code that needs one aspect of the declaration) --------------------------------------------

TABLE = {t.name: t for t in TABLES}
COLUMNS: dict[str, tuple[str, ...]] = {t.name: t.column_names for t in TABLES}
DTYPES: dict[str, dict[str, str]] = {t.name: {c.name: c.dtype for c in t.columns} for t in TABLES}
KEYS: dict[str, tuple[str, ...]] = {t.name: t.key for t in TABLES if t.key}
# Columns whose cells may be empty; every other cell is required ("allowed only where said").
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns if c.optional) for t in TABLES if any(c.optional for c in t.columns)
}
REQUIRED_TABLES = tuple(t.name for t in TABLES if t.use in ("required", "train"))
OPTIONAL_TABLES = tuple(t.name for t in TABLES if t.name not in REQUIRED_TABLES)
TRAINING_TABLES = tuple(t.name for t in TABLES if t.use == "train")  # required (with rows) to train only
NON_EMPTY_TABLES = tuple(t.name for t in TABLES if t.needs_rows)
COOP_REFERENCING_TABLES = tuple(t.name for t in TABLES if t.refers_to_cooperatives)
MONEY_COLUMNS = tuple(c.name for c in TABLE["financials"].columns if c.kind == "money")
SCORE_COLUMNS = SCORES.column_names

# The tables an office fills in (klinik template writes one sheet for each, named Table.sheet, after its sheet of
# instructions, which the loader passes over).
OFFICE_TABLES = tuple(t.name for t in TABLES if t.use in ("required", "train", "optional"))
TEMPLATE_INSTRUCTIONS_SHEET = "Petunjuk"


def _fold(name: str) -> str:
    """A header or sheet name as compared: case and runs of blanks do not matter."""
    return " ".join(str(name).split()).casefold()


@functools.cache
def _by_header(table: Table) -> dict[str, str]:
    return {_fold(c.header): c.name for c in table.columns if c.header}


_BY_NAME = {_fold(n): t.name for t in TABLES for n in (t.name, t.sheet) if n}


def table_named(name: str) -> str | None:
    """The table a file's stem or a workbook's sheet names: its contract name or its template sheet, in any case."""
    return _BY_NAME.get(_fold(name))


def indonesian_names(table: str | None) -> Names:
    """How an Indonesian message says a column of ``table`` (its header) and a table (its sheet); a name without
    an Indonesian one is said as it is."""
    spec = TABLE.get(table) if table else None
    headers = {c.name: c.header for c in spec.columns if c.header} if spec else {}

    def name(ref: Col | Tab) -> str:
        if isinstance(ref, Tab):
            return TABLE[ref].sheet or str(ref) if ref in TABLE else str(ref)
        return headers.get(ref, str(ref))

    return name


# File formats of a dataset folder (one workbook holds every table as a sheet).
TABLE_FILE_SUFFIXES = (".csv", ".parquet")
WORKBOOK_SUFFIX = ".xlsx"
