"""The data contract v1 (docs/data-contract.md) as data: tables, columns, codes.

Validation schemas (data/validation.py) and the simulator are built from these names, so the contract is
written down once.
"""

from __future__ import annotations

COOP_TYPES = ("KSP", "KSU", "KUD", "KPRI", "KONSUMEN", "PRODUSEN", "PEMASARAN", "JASA")
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
MEETING_TYPES = ("RAT", "RAPAT_PENGURUS", "RAPAT_PENGAWAS")
HEALTH_CATEGORIES = ("SEHAT", "CUKUP_SEHAT", "DALAM_PENGAWASAN", "DALAM_PENGAWASAN_KHUSUS")
SICK_CATEGORIES = ("DALAM_PENGAWASAN", "DALAM_PENGAWASAN_KHUSUS")
CLINICS = ("KEUANGAN", "SDM", "KELEMBAGAAN")
CASE_OUTCOMES = ("PULIH", "BERLANJUT", "DIBUBARKAN")
STATUSES = ("SEHAT_NOW", "SAKIT_NOW", "UNASSESSED")
ACTIONS_HEALTHY = ("JANGKAU", "PANTAU")
ACTIONS_SICK = ("BINA", "PANTAU_KETAT", "PERTIMBANGKAN_PEMBUBARAN")

COLUMNS: dict[str, tuple[str, ...]] = {
    "cooperatives": ("coop_id", "name", "coop_type", "district", "founded_year", "dissolved_year"),
    "financials": (
        "coop_id",
        "year",
        "cash",
        "current_assets",
        "total_assets",
        "loans_outstanding",
        "loans_to_members",
        "loans_substandard",
        "loans_doubtful",
        "loans_loss",
        "loan_loss_reserve",
        "current_liabilities",
        "total_liabilities",
        "voluntary_savings",
        "external_borrowings",
        "equity",
        "principal_savings",
        "mandatory_savings",
        "gross_participation",
        "other_revenue",
        "operating_expenses",
        "personnel_expenses",
        "net_income",
    ),
    "staffing": (
        "coop_id",
        "year",
        "members",
        "board_members",
        "supervisors",
        "employees",
        "has_manager",
        "certified_staff",
        "trained_staff",
        "staff_departures",
    ),
    "meetings": ("coop_id", "meeting_type", "fiscal_year", "held_on", "attendees"),
    "health": ("coop_id", "year", "category", "score"),
    "clinic_cases": ("case_id", "coop_id", "clinic", "opened_on", "closed_on", "outcome"),
    "truth": ("coop_id", "year", "p_sick_next", "p_recover", "cause"),
}
REQUIRED_TABLES = ("cooperatives", "financials", "staffing", "meetings", "health")
# health is required to train, optional to score; clinic_cases is optional; truth only from a simulator.
OPTIONAL_TABLES = ("clinic_cases", "truth")

SCORE_COLUMNS = (
    "coop_id",
    "as_of_year",
    "status",
    "p_sick_next",
    "p_recover",
    "clinic",
    "reasons",
    "action",
    "rank",
    "model_version",
)

# In-memory dtypes after loading (every loader returns exactly these, so features never guess).
#   str     -> pandas string dtype ("str" in pandas 3); missing only where the contract allows
#   int     -> int64;  Int -> nullable Int64 (dissolved_year, attendees)
#   float   -> float64 (money, score, probabilities; NaN = missing)
#   bool    -> bool;   date -> datetime64[ns] (NaT = missing)
MONEY_COLUMNS = COLUMNS["financials"][2:]
DTYPES: dict[str, dict[str, str]] = {
    "cooperatives": {
        "coop_id": "str",
        "name": "str",
        "coop_type": "str",
        "district": "str",
        "founded_year": "int64",
        "dissolved_year": "Int64",
    },
    "financials": {"coop_id": "str", "year": "int64", **{c: "float64" for c in MONEY_COLUMNS}},
    "staffing": {
        "coop_id": "str",
        "year": "int64",
        "members": "int64",
        "board_members": "int64",
        "supervisors": "int64",
        "employees": "int64",
        "has_manager": "bool",
        "certified_staff": "int64",
        "trained_staff": "int64",
        "staff_departures": "int64",
    },
    "meetings": {
        "coop_id": "str",
        "meeting_type": "str",
        "fiscal_year": "int64",
        "held_on": "datetime64[ns]",
        "attendees": "Int64",
    },
    "health": {"coop_id": "str", "year": "int64", "category": "str", "score": "float64"},
    "clinic_cases": {
        "case_id": "str",
        "coop_id": "str",
        "clinic": "str",
        "opened_on": "datetime64[ns]",
        "closed_on": "datetime64[ns]",
        "outcome": "str",
    },
    "truth": {"coop_id": "str", "year": "int64", "p_sick_next": "float64", "p_recover": "float64", "cause": "str"},
}

# --- keys, optional cells and row requirements (used by data/validation.py) ---
KEYS: dict[str, tuple[str, ...]] = {
    "cooperatives": ("coop_id",),
    "financials": ("coop_id", "year"),
    "staffing": ("coop_id", "year"),
    "health": ("coop_id", "year"),
    "clinic_cases": ("case_id",),
    "truth": ("coop_id", "year"),
}
# Columns whose cells may be empty; every other cell is required ("allowed only where said").
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "cooperatives": ("dissolved_year",),
    "meetings": ("attendees",),
    "health": ("score",),
    "clinic_cases": ("closed_on", "outcome"),
    "truth": ("p_sick_next", "p_recover", "cause"),
}
# Tables that refer to cooperatives.coop_id (a foreign key).
COOP_REFERENCING_TABLES = ("financials", "staffing", "meetings", "health", "clinic_cases", "truth")
# Tables that must hold at least one row (a header-only meetings or clinic_cases table is valid: nothing happened).
NON_EMPTY_TABLES = ("cooperatives", "financials", "staffing")
FIRST_YEAR = 1900  # the earliest year or date the contract accepts
# Score bands of the health assessment (docs/domain.md): the lowest score of each category, best first.
HEALTH_SCORE_BANDS = (
    ("SEHAT", 80.0),
    ("CUKUP_SEHAT", 66.0),
    ("DALAM_PENGAWASAN", 51.0),
    ("DALAM_PENGAWASAN_KHUSUS", float("-inf")),
)
# File formats of a dataset folder (one workbook holds every table as a sheet).
TABLE_FILE_SUFFIXES = (".csv", ".parquet")
WORKBOOK_SUFFIX = ".xlsx"
