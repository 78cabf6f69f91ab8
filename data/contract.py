"""The data contract, declared once: every table, its columns, their types, meanings and rules.

Everything else that needs the columns derives from ``TABLES`` and ``SCORES`` below: the pandera schemas that
check a dataset (data/rules.py), the request and response types of the HTTP service (serving/schemas.py), the
service's fast request check (through those schemas), the simulator's column lists (``COLUMNS``, ``DTYPES``)
and docs/data-contract.md (``python -m klinik.data.contract_doc``). Adding a column is one line here, plus the
simulator's generator, which must write it.

A rule is declared as data (``AtLeast(0)``, ``Compare("current_assets", ">=", ("cash",))``); its words are the
error message a clinic officer reads, and the same words stand in the documentation.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Literal

VERSION = "1"
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
    "SEHAT_NOW": "the latest assessment is SEHAT or CUKUP_SEHAT",
    "SAKIT_NOW": "the latest assessment is DALAM_PENGAWASAN or DALAM_PENGAWASAN_KHUSUS",
    "UNASSESSED": "no recent assessment",
}
ACTION_HEALTHY_CODES = {"JANGKAU": "reach out now", "PANTAU": "watch"}
ACTION_SICK_CODES = {"BINA": "treat", "PANTAU_KETAT": "close watch", "PERTIMBANGKAN_PEMBUBARAN": "consider closure"}

COOP_TYPES = tuple(COOP_TYPE_CODES)
MEETING_TYPES = tuple(MEETING_TYPE_CODES)
HEALTH_CATEGORIES = tuple(HEALTH_CATEGORY_CODES)
SICK_CATEGORIES = ("DALAM_PENGAWASAN", "DALAM_PENGAWASAN_KHUSUS")
CLINICS = tuple(CLINIC_CODES)
CASE_OUTCOMES = tuple(CASE_OUTCOME_CODES)
STATUSES = tuple(STATUS_CODES)
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

    def words(self, year: int | None = None) -> str:
        return f"must be {'>' if self.strict else '>='} {self.low:g}"


@dataclass(frozen=True)
class Between:
    """The value lies in [``low``, ``high``]."""

    low: float
    high: float

    def words(self, year: int | None = None) -> str:
        return f"must be between {self.low:g} and {self.high:g}"


@dataclass(frozen=True, eq=False)
class OneOf:
    """The value is one of ``codes``; ``meanings`` say what each code means (for people, not for the check)."""

    meanings: dict[str, str]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.meanings)

    def words(self, year: int | None = None) -> str:
        return "must be one of " + ", ".join(self.codes)


@dataclass(frozen=True)
class InYears:
    """A year (or a date's year) from FIRST_YEAR to the current year: nothing is dated in the future."""

    date: bool = False

    def words(self, year: int | None = None) -> str:
        if self.date:
            end = f"{year}-12-31" if year else "the end of the current year"
            return f"must be a date from {FIRST_YEAR}-01-01 to {end}"
        return f"must be a year from {FIRST_YEAR} to {year or 'the current year'}"


@dataclass(frozen=True)
class ListedIn:
    """A foreign key: the value is a key of ``table`` (checked when that table is checked too)."""

    table: str
    column: str

    def words(self, year: int | None = None) -> str:
        return f"must be a {self.column} listed in {self.table}"


ColumnRule = AtLeast | Between | OneOf | InYears | ListedIn

# --- rules across columns of one row (reported on ``column``, showing the values of ``shows``) --------------------


@dataclass(frozen=True)
class Compare:
    """``column`` >= (or <=) the sum of ``others``; money within half a sen."""

    column: str
    op: Literal[">=", "<="]
    others: tuple[str, ...]
    text: str = ""  # the words, where the default ("must be >= a + b") reads badly

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.column, *self.others)

    def words(self) -> str:
        return self.text or f"must be {self.op} {' + '.join(self.others)}"


@dataclass(frozen=True)
class SumOf:
    """``column`` equals the sum of ``parts`` within the share ``within`` of ``column``."""

    column: str
    parts: tuple[str, ...]
    within: float

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.column, *self.parts)

    def words(self) -> str:
        return f"must equal {' + '.join(self.parts)} within {self.within:.0%}"


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

    def words(self) -> str:
        return f"a {self.code} must be held after the end of its {self.year}"


@dataclass(frozen=True)
class InScoreBand:
    """The category (``column``) is the one whose HEALTH_SCORE_BANDS band holds ``score``."""

    column: str
    score: str

    @property
    def shows(self) -> tuple[str, ...]:
        return (self.column, self.score)

    def words(self) -> str:
        parts, upper = [], None
        for name, low in HEALTH_SCORE_BANDS:
            if upper is None:
                parts.append(f"{name} >={low:g}")
            elif low != float("-inf"):
                parts.append(f"{name} {low:g}..<{upper:g}")
            else:
                parts.append(f"{name} <{upper:g}")
            upper = low
        return f"must match the score band ({', '.join(parts)})"


RowRule = Compare | SumOf | HeldAfterYear | InScoreBand

# --- columns and tables ------------------------------------------------------------------------------------------

Kind = Literal["text", "code", "year", "count", "money", "number", "flag", "date"]
# Each kind of cell: its dtype in memory after loading (every loader returns exactly these, so features never guess;
# text is pandas' string dtype, "str" in pandas 3; NaN / NaT = missing) and what a cell of it holds, in words.
KINDS: dict[str, tuple[str, str]] = {
    "text": ("str", "text"),
    "code": ("str", "one of the codes listed (the office's own terms)"),
    "year": ("int64", "a year, a whole number"),
    "count": ("int64", "a whole number"),
    "money": ("float64", "an amount in Rupiah, decimals allowed"),
    "number": ("float64", "a number, decimals allowed"),
    "flag": ("bool", "true or false (1 or 0 also read)"),
    "date": ("datetime64[ns]", "a date written YYYY-MM-DD (ISO 8601)"),
}


@dataclass(frozen=True)
class Column:
    """One column: its name, kind, meaning (with the office's Indonesian term), whether a cell may be empty,
    its rules, and a note for what no check says."""

    name: str
    kind: Kind
    meaning: str = ""
    rules: tuple[ColumnRule, ...] = ()
    optional: bool = False  # the cell may be empty (a missing value); every other cell is required
    note: str = ""

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


def text(name: str, meaning: str = "", *rules: ColumnRule, **kw) -> Column:
    return Column(name, "text", meaning, rules, **kw)


def code(name: str, meanings: dict[str, str], meaning: str = "", **kw) -> Column:
    return Column(name, "code", meaning, (OneOf(meanings),), **kw)


def year(name: str, meaning: str = "", **kw) -> Column:
    return Column(name, "year", meaning, (InYears(),), **kw)


def date(name: str, meaning: str = "", **kw) -> Column:
    return Column(name, "date", meaning, (InYears(date=True),), **kw)


def count(name: str, meaning: str = "", **kw) -> Column:
    return Column(name, "count", meaning, (AtLeast(0),), **kw)


def money(name: str, meaning: str, *rules: ColumnRule, **kw) -> Column:
    """An amount in Rupiah, >= 0 unless other rules are given (``()`` after the meaning: may be negative)."""
    return Column(name, "money", meaning, rules or (AtLeast(0),), **kw)


def signed_money(name: str, meaning: str) -> Column:
    return Column(name, "money", meaning, note="may be negative")


def probability(name: str, meaning: str, **kw) -> Column:
    return Column(name, "number", meaning, (Between(0, 1),), **kw)


def coop_id(meaning: str = "the cooperative") -> Column:
    """The coop_id of a table about cooperatives: a key of the cooperatives table."""
    return text("coop_id", meaning, ListedIn("cooperatives", "coop_id"))


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

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def refers_to_cooperatives(self) -> bool:
        return any(isinstance(r, ListedIn) and r.table == "cooperatives" for c in self.columns for r in c.rules)


# --- the declaration ---------------------------------------------------------------------------------------------

TABLES: tuple[Table, ...] = (
    Table(
        "cooperatives",
        "one row per cooperative ever registered",
        (
            text("coop_id", "the cooperative's identifier, as the office writes it"),
            text("name", "registered name"),
            code("coop_type", COOP_TYPE_CODES, "jenis koperasi"),
            text("district", "kecamatan", note="for Buleleng one of " + ", ".join(BULELENG_DISTRICTS)),
            year("founded_year", "the year it was registered"),
            year("dissolved_year", "the year it was dissolved", optional=True, note="empty while it exists"),
        ),
        key=("coop_id",),
        needs_rows=True,
        rules=(Compare("dissolved_year", ">=", ("founded_year",)),),
    ),
    Table(
        "financials",
        "annual statements (neraca + perhitungan hasil usaha)",
        (
            coop_id(),
            year("year", "fiscal year (tahun buku)"),
            money("cash", "kas + bank"),
            money("current_assets", "aktiva lancar"),
            money("total_assets", "total aset", AtLeast(0, strict=True)),
            money("loans_outstanding", "pinjaman diberikan (gross)", note="0 for a cooperative that does not lend"),
            money("loans_to_members", "pinjaman kepada anggota"),
            money("loans_substandard", "pinjaman kurang lancar (PKL)"),
            money("loans_doubtful", "pinjaman diragukan (PDR)"),
            money("loans_loss", "pinjaman macet (PM)"),
            money("loan_loss_reserve", "cadangan risiko"),
            money("current_liabilities", "kewajiban lancar"),
            money("total_liabilities", "total kewajiban"),
            money("voluntary_savings", "simpanan sukarela + berjangka (members' deposits)"),
            money("external_borrowings", "pinjaman dari bank / lembaga lain"),
            signed_money("equity", "modal sendiri"),
            money("principal_savings", "simpanan pokok"),
            money("mandatory_savings", "simpanan wajib"),
            money("gross_participation", "partisipasi bruto (revenue from members' business)"),
            money("other_revenue", "pendapatan dari non-anggota dan lain-lain"),
            money("operating_expenses", "beban usaha"),
            money("personnel_expenses", "biaya karyawan"),
            signed_money("net_income", "SHU sebelum pajak"),
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
    ),
    Table(
        "staffing",
        "people, one row per cooperative and year",
        (
            coop_id(),
            year("year", "fiscal year (tahun buku)"),
            count("members", "anggota at year end"),
            count("board_members", "pengurus"),
            count("supervisors", "pengawas"),
            count("employees", "karyawan"),
            Column("has_manager", "flag", "a hired professional manager (manajer)"),
            count("certified_staff", "pengurus and karyawan with a competency certificate"),
            count("trained_staff", "people who attended training that year"),
            count("staff_departures", "employees who left that year"),
        ),
        key=("coop_id", "year"),
        needs_rows=True,
        rules=(Compare("certified_staff", "<=", ("board_members", "employees")),),
    ),
    Table(
        "meetings",
        "one row per meeting held; no row means not held",
        (
            coop_id(),
            code("meeting_type", MEETING_TYPE_CODES, "kind of meeting"),
            year("fiscal_year", "for a RAT the book year whose accounts it approves; otherwise the year it was held"),
            date("held_on", "the day it was held"),
            count("attendees", "members present", optional=True),
        ),
        rules=(HeldAfterYear("held_on", year="fiscal_year", kind="meeting_type", code="RAT"),),
        notes=(
            "The law (UU 25/1992) wants the RAT within six months after the book year; the Buleleng office asks "
            "for it by the end of March. Both deadlines are settings, not constants.",
        ),
    ),
    Table(
        "health",
        "the office's assessments (penilaian kesehatan koperasi)",
        (
            coop_id(),
            year("year", "fiscal year assessed"),
            code("category", HEALTH_CATEGORY_CODES, "predikat kesehatan"),
            Column("score", "number", "total score of the assessment", (Between(0, 100),), optional=True),
        ),
        key=("coop_id", "year"),
        use="train",
        rules=(InScoreBand("category", score="score"),),
    ),
    Table(
        "clinic_cases",
        "the clinic's work, one row per case",
        (
            text("case_id", "the case's identifier"),
            coop_id(),
            code("clinic", CLINIC_CODES, "which clinic treats it"),
            date("opened_on", "the day the case was opened"),
            date("closed_on", "the day the case was closed", optional=True, note="empty while open"),
            code("outcome", CASE_OUTCOME_CODES, "how the case ended", optional=True, note="empty while open"),
        ),
        key=("case_id",),
        use="optional",
        rules=(Compare("closed_on", ">=", ("opened_on",), text="must be on or after opened_on"),),
    ),
    Table(
        "truth",
        "the probabilities the simulator drew its labels with",
        (
            coop_id(),
            year("year", "fiscal year"),
            probability(
                "p_sick_next",
                "for a cooperative not sick at year: the probability used to draw sick at year + 1",
                optional=True,
            ),
            probability(
                "p_recover",
                "for a cooperative sick at year: the probability used to draw recovered within two years",
                optional=True,
            ),
            code(
                "cause", CLINIC_CODES, "for a cooperative sick at year: the cause the simulator gave it", optional=True
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
        text("coop_id", "the cooperative"),
        year("as_of_year", "the fiscal year scored"),
        code("status", STATUS_CODES, "health at as_of_year"),
        probability(
            "p_sick_next",
            "calibrated probability of being sick next year",
            optional=True,
            note="empty for a cooperative sick now",
        ),
        probability(
            "p_recover",
            "calibrated probability of recovering within two years",
            optional=True,
            note="empty for a cooperative not sick now",
        ),
        code("clinic", CLINIC_CODES, "where the main cause of its risk lies"),
        text("reasons", "the top reasons, in words, each with its share"),
        code(
            "action",
            {**ACTION_HEALTHY_CODES, **ACTION_SICK_CODES},
            "what to do: a recommendation to a person, never a decision",
            note=f"{' or '.join(ACTIONS_HEALTHY)} for a healthy cooperative; {', '.join(ACTIONS_SICK)} for a sick one",
        ),
        Column("rank", "count", "outreach order, 1 first", (AtLeast(1),)),
        text("model_version", "the MLflow registered model versions that produced the row"),
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

# File formats of a dataset folder (one workbook holds every table as a sheet).
TABLE_FILE_SUFFIXES = (".csv", ".parquet")
WORKBOOK_SUFFIX = ".xlsx"
