"""The feature catalog: every feature's group, words, unit and direction, written down once.

The clinic routes a cooperative by the cause of its trouble, so every feature belongs to exactly one group:
KEUANGAN (finance), SDM (people), KELEMBAGAAN (governance, RAT and other meetings) or CONTEXT (who the
cooperative is and where it stands: type, district, age, its assessed health history and the clinic's
treatment -- states, not causes, so they send no one to a clinic).

Units (how a value is read and put in words):
  pct       percent points, 18.0 means 18% (ratios of the health assessment, shares, growth rates)
  ratio     a plain number (the computed health score in points, staff per 100 members)
  count     whole things (people, meetings, cases)
  days, years
  flag      1.0 yes / 0.0 no
  money     Rupiah
  category  a health category as its rank 0..3 (SEHAT, CUKUP_SEHAT, DALAM_PENGAWASAN,
            DALAM_PENGAWASAN_KHUSUS), or a text code for ``coop_type`` and ``district``

``risk_direction``: +1 when a higher value never lowers the risk of falling sick, -1 when it never raises it,
0 when the domain is not sure (non-monotone ratios such as equity/assets, which is best at 41-60%). The model
engineer turns these into LightGBM monotone constraints, so +1/-1 are set only where the domain is sure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from klinik.data.contract import CLINICS, HEALTH_CATEGORIES

GROUPS = ("KEUANGAN", "SDM", "KELEMBAGAAN", "CONTEXT")
UNITS = ("pct", "ratio", "count", "days", "years", "flag", "money", "category")
SOURCES = ("financials", "staffing", "meetings", "health", "clinic_cases", "cooperatives")
CATEGORICAL = ("coop_type", "district")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: what it is called in both languages, its clinic group, unit and risk direction.

    ``change_of`` names the feature this one is the one-year change of (describe() pairs them);
    ``delta`` is (base feature, years) for every change feature, one-year or three-year.
    ``source`` is the contract table the value comes from: it decides the words for a missing value.
    ``says`` / ``says_off`` are optional (Indonesian, English) templates with ``{v}``; for a flag, the words
    when it is 1 and when it is 0; for a count, days or years, ``says_off`` are the words for zero.
    ``onset_of`` names the feature this one is the value of in the last year before the current sick spell began;
    ``since_onset_of`` the feature this one is the change of since then (value at t minus that year's).
    """

    name: str
    group: str
    label_id: str
    label_en: str
    unit: str
    risk_direction: int
    change_of: str | None = None
    source: str = "financials"
    delta: tuple[str, int] | None = None
    says: tuple[str, str] | None = None
    says_off: tuple[str, str] | None = None
    onset_of: str | None = None
    since_onset_of: str | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"feature {self.name}: group {self.group!r} not in {GROUPS}")
        if self.unit not in UNITS:
            raise ValueError(f"feature {self.name}: unit {self.unit!r} not in {UNITS}")
        if self.risk_direction not in (-1, 0, 1):
            raise ValueError(f"feature {self.name}: risk_direction must be -1, 0 or +1")
        if self.source not in SOURCES:
            raise ValueError(f"feature {self.name}: source {self.source!r} not in {SOURCES}")


FLAG_SUFFIX = (" (ya/tidak)", " (yes/no)")


def _f(name, group, label_id, label_en, unit, direction, **kw) -> FeatureSpec:
    """A feature; a flag's name says it is a yes/no question ("RAT diadakan (ya/tidak)"), never a statement that
    would read as its value ("RAT diadakan" beside a reason that the RAT was not held)."""
    if unit == "flag":
        label_id, label_en = label_id + FLAG_SUFFIX[0], label_en + FLAG_SUFFIX[1]
    return FeatureSpec(name, group, label_id, label_en, unit, direction, **kw)


def _changes(base: FeatureSpec, direction: int, spans: tuple[int, ...] = (1, 3)) -> list[FeatureSpec]:
    """The k-year changes of a ratio (value at t minus value at t-k), in the base's unit and group."""
    out = []
    for k in spans:
        out.append(
            FeatureSpec(
                f"{base.name}_chg{k}",
                base.group,
                f"perubahan {k} tahun {base.label_id}",
                f"{k}-year change in {base.label_en}",
                base.unit,
                direction,
                change_of=base.name if k == 1 else None,
                source=base.source,
                delta=(base.name, k),
            )
        )
    return out


K, S, L, C = "KEUANGAN", "SDM", "KELEMBAGAAN", "CONTEXT"

_RATIOS = [
    _f("equity_to_assets", K, "rasio modal sendiri terhadap aset", "equity to assets", "pct", 0),
    _f(
        "equity_to_risky_loans", K, "rasio modal sendiri terhadap pinjaman berisiko", "equity to risky loans", "pct", -1
    ),
    _f("loans_to_members_ratio", K, "porsi pinjaman kepada anggota", "share of loans to members", "pct", -1),
    _f("bad_loan_ratio", K, "pinjaman bermasalah", "bad loans", "pct", 1),
    _f(
        "reserve_to_bad_loans",
        K,
        "cadangan risiko terhadap pinjaman bermasalah",
        "loss reserve to bad loans",
        "pct",
        -1,
    ),
    _f("risky_loan_ratio", K, "pinjaman berisiko", "risky loans", "pct", 1),
    _f("opex_to_gross_shu", K, "beban usaha terhadap SHU kotor", "operating expenses to gross surplus", "pct", 1),
    _f("personnel_to_loans", K, "biaya karyawan terhadap pinjaman", "personnel cost to loans", "pct", 1),
    _f("cash_ratio", K, "rasio kas", "cash ratio", "pct", 0),
    _f("loans_to_funds", K, "pinjaman terhadap dana yang diterima", "loans to funds received", "pct", 0),
    _f("return_on_assets", K, "SHU terhadap aset", "surplus to assets", "pct", -1),
    _f("operational_self_sufficiency", K, "kemandirian operasional", "operational self-sufficiency", "pct", -1),
    _f("participation_ratio", K, "rasio partisipasi bruto anggota", "members' share of revenue", "pct", -1),
    _f("official_score", K, "skor kesehatan (hitungan rasio)", "health score (from the ratios)", "ratio", -1),
    _f(
        "official_category_rank",
        K,
        "predikat kesehatan (hitungan rasio)",
        "health category (from the ratios)",
        "category",
        1,
    ),
]
_BY_NAME = {s.name: s for s in _RATIOS}
# Changes of the main ratios: a rise in bad or risky loans never lowers the risk, a fall in the score never
# lowers it; the others move both ways depending on where the level is, so they stay unconstrained.
_TREND_DIRECTIONS = {
    "equity_to_assets": 0,
    "bad_loan_ratio": 1,
    "risky_loan_ratio": 1,
    "cash_ratio": 0,
    "return_on_assets": 0,
    "operational_self_sufficiency": 0,
    "participation_ratio": 0,
    "official_score": -1,
}

_KEUANGAN = [
    *_RATIOS,
    *[c for base, d in _TREND_DIRECTIONS.items() for c in _changes(_BY_NAME[base], d)],
    _f("total_assets", K, "total aset", "total assets", "money", 0),
    _f("asset_growth_1y", K, "pertumbuhan aset 1 tahun", "1-year asset growth", "pct", 0),
    _f("asset_growth_3y", K, "pertumbuhan aset 3 tahun", "3-year asset growth", "pct", 0),
    _f(
        "net_loss",
        K,
        "rugi",
        "loss",
        "flag",
        1,
        says=("koperasi merugi (SHU negatif)", "made a loss (negative surplus)"),
        says_off=("SHU tidak negatif", "no loss"),
    ),
    _f(
        "negative_equity",
        K,
        "modal sendiri negatif",
        "negative equity",
        "flag",
        1,
        says=("modal sendiri negatif", "equity is negative"),
        says_off=("modal sendiri positif", "equity is positive"),
    ),
    _f(
        "balance_sheet_gap",
        K,
        "selisih neraca (aset - kewajiban - modal) terhadap aset",
        "balance sheet gap (assets - liabilities - equity) to assets",
        "pct",
        0,
    ),
    _f(
        "no_financial_statement",
        K,
        "tidak ada laporan keuangan",
        "no financial statement",
        "flag",
        1,
        says=("tidak ada laporan keuangan tahun ini", "no financial statement filed this year"),
        says_off=("laporan keuangan ada", "financial statement filed"),
    ),
]

_SDM = [
    _f("board_members", S, "jumlah pengurus", "board members", "count", 0, source="staffing"),
    _f("supervisors", S, "jumlah pengawas", "supervisors", "count", 0, source="staffing"),
    _f("employees", S, "jumlah karyawan", "employees", "count", 0, source="staffing"),
    _f(
        "employees_per_100_members",
        S,
        "karyawan per 100 anggota",
        "employees per 100 members",
        "ratio",
        0,
        source="staffing",
    ),
    _f(
        "has_manager",
        S,
        "manajer profesional",
        "hired manager",
        "flag",
        -1,
        source="staffing",
        says=("ada manajer profesional", "has a hired manager"),
        says_off=("tidak ada manajer profesional", "no hired manager"),
    ),
    _f(
        "certified_share",
        S,
        "pengurus dan karyawan bersertifikat",
        "certified board and staff",
        "pct",
        -1,
        source="staffing",
    ),
    _f(
        "trained_share",
        S,
        "pengurus dan karyawan yang dilatih",
        "board and staff trained",
        "pct",
        -1,
        source="staffing",
    ),
    _f(
        "staff_departures",
        S,
        "karyawan keluar",
        "staff departures",
        "count",
        0,
        source="staffing",
        says=("{v} karyawan keluar tahun ini", "{v} employees left this year"),
        says_off=("tidak ada karyawan keluar tahun ini", "no employee left this year"),
    ),
    _f("staff_departure_rate", S, "turnover karyawan", "staff turnover", "pct", 1, source="staffing"),
    _f(
        "no_staffing_report",
        S,
        "tidak ada laporan SDM",
        "no staffing report",
        "flag",
        1,
        source="staffing",
        says=("tidak ada laporan SDM tahun ini", "no staffing report filed this year"),
        says_off=("laporan SDM ada", "staffing report filed"),
    ),
]

_KELEMBAGAAN = [
    _f(
        "rat_held",
        L,
        "RAT diadakan",
        "RAT held",
        "flag",
        -1,
        source="meetings",
        says=("RAT tahun buku ini diadakan tepat waktu", "annual members' meeting (RAT) held on time"),
        says_off=("RAT tahun buku ini belum diadakan", "no annual members' meeting (RAT) for this year yet"),
    ),
    _f(
        "rat_missed_years",
        L,
        "tahun berturut-turut tanpa RAT",
        "consecutive years without RAT",
        "years",
        1,
        source="meetings",
        says=("RAT tidak diadakan {v} tahun berturut-turut", "no annual members' meeting (RAT) for {v} years running"),
        says_off=("RAT tahun buku ini diadakan", "annual members' meeting (RAT) held for this year"),
    ),
    _f(
        "rat_prev_days_late_office",
        L,
        "keterlambatan RAT tahun lalu (batas dinas)",
        "last year's RAT delay (office deadline)",
        "days",
        1,
        source="meetings",
        says=(
            "RAT tahun buku lalu terlambat {v} hari dari batas dinas",
            "last year's RAT came {v} days after the office's deadline",
        ),
        says_off=("RAT tahun buku lalu tepat waktu (batas dinas)", "last year's RAT met the office's deadline"),
    ),
    _f(
        "rat_prev_days_late_legal",
        L,
        "keterlambatan RAT tahun lalu (batas undang-undang)",
        "last year's RAT delay (legal deadline)",
        "days",
        1,
        source="meetings",
        says=(
            "RAT tahun buku lalu terlambat {v} hari dari batas undang-undang",
            "last year's RAT came {v} days after the legal deadline",
        ),
        says_off=("RAT tahun buku lalu tepat waktu (batas undang-undang)", "last year's RAT met the legal deadline"),
    ),
    _f(
        "rat_attendance_share", L, "kehadiran anggota di RAT", "members attending the RAT", "pct", -1, source="meetings"
    ),
    _f(
        "board_meetings",
        L,
        "rapat pengurus",
        "board meetings",
        "count",
        0,
        source="meetings",
        says=("{v} rapat pengurus tahun ini", "{v} board meetings this year"),
        says_off=("tidak ada rapat pengurus tahun ini", "no board meeting this year"),
    ),
    _f(
        "supervisory_meetings",
        L,
        "rapat pengawas",
        "supervisory meetings",
        "count",
        0,
        source="meetings",
        says=("{v} rapat pengawas tahun ini", "{v} supervisory meetings this year"),
        says_off=("tidak ada rapat pengawas tahun ini", "no supervisory meeting this year"),
    ),
    _f("members", L, "jumlah anggota", "members", "count", 0, source="staffing"),
    _f("member_growth_1y", L, "pertumbuhan anggota 1 tahun", "1-year member growth", "pct", 0, source="staffing"),
    _f("member_growth_3y", L, "pertumbuhan anggota 3 tahun", "3-year member growth", "pct", 0, source="staffing"),
    _f(
        "never_assessed",
        L,
        "belum pernah dinilai",
        "never assessed",
        "flag",
        0,
        source="health",
        says=("belum pernah dinilai kesehatannya", "never had a health assessment"),
        says_off=("pernah dinilai", "has been assessed"),
    ),
]

_CONTEXT = [
    _f("coop_type", C, "jenis koperasi", "cooperative type", "category", 0, source="cooperatives"),
    _f("district", C, "kecamatan", "district", "category", 0, source="cooperatives"),
    _f(
        "age_years",
        C,
        "umur koperasi",
        "age",
        "years",
        0,
        source="cooperatives",
        says=("berumur {v} tahun", "{v} years old"),
        says_off=("baru berdiri tahun ini", "founded this year"),
    ),
    _f(
        "assessed_this_year",
        C,
        "dinilai tahun ini",
        "assessed this year",
        "flag",
        0,
        source="health",
        says=("dinilai tahun ini", "assessed this year"),
        says_off=("tidak dinilai tahun ini", "not assessed this year"),
    ),
    _f("health_category_rank", C, "predikat kesehatan", "health category", "category", 1, source="health"),
    _f("health_score", C, "skor kesehatan dinas", "office's health score", "ratio", -1, source="health"),
    _f(
        "prev_health_category_rank",
        C,
        "predikat kesehatan sebelumnya",
        "previous health category",
        "category",
        1,
        source="health",
    ),
    _f(
        "years_since_assessment",
        C,
        "tahun sejak penilaian terakhir",
        "years since last assessment",
        "years",
        0,
        source="health",
        says=("dinilai terakhir {v} tahun lalu", "last assessed {v} years ago"),
        says_off=("dinilai tahun ini", "assessed this year"),
    ),
    _f(
        "years_sick",
        C,
        "lama sakit",
        "years sick",
        "years",
        1,
        source="health",
        says=("dalam pengawasan sejak {v} tahun", "under supervision (sick) for {v} years"),
        says_off=("tidak sedang dalam pengawasan", "not under supervision (not sick)"),
    ),
    _f(
        "sick_years_total",
        C,
        "jumlah tahun dinilai sakit",
        "years assessed sick in all",
        "count",
        1,
        source="health",
        says=("{v} tahun dinilai sakit sejauh ini", "{v} years assessed sick so far"),
        says_off=("belum pernah dinilai sakit", "never assessed sick"),
    ),
    _f(
        "clinic_cases_total",
        C,
        "kasus klinik",
        "clinic cases",
        "count",
        0,
        source="clinic_cases",
        says=("{v} kasus klinik sejauh ini", "{v} clinic cases so far"),
        says_off=("belum pernah ditangani klinik", "never treated by the clinic"),
    ),
    _f(
        "clinic_case_open",
        C,
        "sedang ditangani klinik",
        "in clinic treatment",
        "flag",
        0,
        source="clinic_cases",
        says=("sedang ditangani klinik", "in clinic treatment"),
        says_off=("tidak sedang ditangani klinik", "not in clinic treatment"),
    ),
    *[
        _f(
            f"clinic_{c.lower()}",
            C,
            f"ditangani klinik {c}",
            f"treated by the {c} clinic",
            "flag",
            0,
            source="clinic_cases",
            says=(f"sedang ditangani klinik {c}", f"in treatment at the {c} clinic"),
            says_off=(f"tidak ditangani klinik {c}", f"not at the {c} clinic"),
        )
        for c in CLINICS
    ],
    _f(
        "clinic_years_since_first_case",
        C,
        "tahun sejak kasus klinik pertama",
        "years since the first clinic case",
        "years",
        0,
        source="clinic_cases",
        says=("kasus klinik pertama {v} tahun lalu", "first clinic case {v} years ago"),
        says_off=("kasus klinik pertama tahun ini", "first clinic case this year"),
    ),
    _f(
        "clinic_cases_recovered",
        C,
        "kasus klinik pulih",
        "clinic cases recovered",
        "count",
        0,
        source="clinic_cases",
        says=("{v} kasus klinik pulih", "{v} clinic cases recovered"),
        says_off=("belum ada kasus klinik yang pulih", "no clinic case recovered yet"),
    ),
    _f(
        "clinic_matches_weakness",
        C,
        "klinik sesuai kelemahan",
        "clinic matches the weakness",
        "flag",
        0,
        source="clinic_cases",
        says=(
            "klinik yang menangani sesuai kelemahan yang terlihat",
            "the treating clinic matches the visible weakness",
        ),
        says_off=(
            "klinik yang menangani tidak sesuai kelemahan yang terlihat",
            "the treating clinic does not match the visible weakness",
        ),
    ),
]

# Recent supervision history (how many of the last three assessments found it sick); the weakest aspect
# (features/build.py WARNING_SIGNS): each clinic group's share of warning signs shown, and whether an open
# case sits at the clinic of the weakest one.
_WEAKEST = [
    _f(
        "sick_assessments_3y",
        C,
        "penilaian sakit dalam 3 tahun terakhir",
        "sick assessments in the last 3 years",
        "count",
        1,
        source="health",
        says=("{v} kali dinilai sakit dalam 3 tahun terakhir", "assessed sick {v} times in the last 3 years"),
        says_off=("tidak dinilai sakit dalam 3 tahun terakhir", "not assessed sick in the last 3 years"),
    ),
    *[
        _f(
            f"weakness_{c.lower()}",
            c,
            f"bagian tanda kelemahan {c} yang terlihat",
            f"share of the {c} warning signs shown",
            "pct",
            0,
            source="financials" if c == "KEUANGAN" else "staffing" if c == "SDM" else "meetings",
        )
        for c in CLINICS
    ],
    _f(
        "clinic_at_weakest",
        C,
        "klinik sesuai aspek terlemah",
        "clinic at the weakest aspect",
        "flag",
        0,
        source="clinic_cases",
        says=(
            "klinik yang menangani adalah klinik aspek terlemah",
            "the treating clinic is that of the weakest aspect",
        ),
        says_off=(
            "klinik yang menangani bukan klinik aspek terlemah",
            "the treating clinic is not that of the weakest aspect",
        ),
    ),
]


# The sickness itself (features/build.py "The sick spell"): NaN on a row not sick. The state in the last year
# before the current sick spell began (its ratios and warning signs, that year's own reports), the change since
# then, the RAT held while sick, and the clinic's current case (how long open, whether its clinic matches the
# weakness seen before the spell). Directions only where the domain is sure, as for the ratios themselves: a
# better state before the sickness, or an improvement since, never lowers the chance of getting well.
def _onset(base: str, direction: int, **kw) -> FeatureSpec:
    spec = {s.name: s for s in [*_KEUANGAN, *_SDM, *_KELEMBAGAAN]}[base]
    suffix = FLAG_SUFFIX if spec.unit == "flag" else ("", "")
    label_id, label_en = spec.label_id.removesuffix(suffix[0]), spec.label_en.removesuffix(suffix[1])
    return _f(
        f"onset_{base}",
        spec.group,
        f"{label_id} sebelum sakit",
        f"{label_en} before the sickness",
        spec.unit,
        direction,
        source=spec.source,
        onset_of=base,
        **kw,
    )


def _since_onset(base: str, direction: int) -> FeatureSpec:
    spec = _BY_NAME[base]
    return FeatureSpec(
        f"{base}_chg_onset",
        spec.group,
        f"perubahan {spec.label_id} sejak sebelum sakit",
        f"change in {spec.label_en} since before the sickness",
        spec.unit,
        direction,
        source=spec.source,
        since_onset_of=base,
    )


_SICKNESS = [
    _onset("official_score", -1),
    _onset("bad_loan_ratio", 1),
    _onset("equity_to_assets", 0),
    _onset("return_on_assets", -1),
    _onset(
        "has_manager",
        -1,
        says=("sebelum sakit ada manajer profesional", "had a hired manager before the sickness"),
        says_off=("sebelum sakit tidak ada manajer profesional", "no hired manager before the sickness"),
    ),
    _onset(
        "rat_held",
        -1,
        says=(
            "RAT tahun sebelum sakit diadakan tepat waktu",
            "the annual members' meeting (RAT) of the year before the sickness was held on time",
        ),
        says_off=(
            "RAT tahun sebelum sakit tidak diadakan tepat waktu",
            "no annual members' meeting (RAT) on time in the year before the sickness",
        ),
    ),
    _since_onset("official_score", -1),
    _since_onset("bad_loan_ratio", 1),
    _since_onset("equity_to_assets", 0),
    _f(
        "rat_share_since_onset",
        L,
        "tahun buku dengan RAT tepat waktu selama sakit",
        "book years with an on-time RAT while sick",
        "pct",
        -1,
        source="meetings",
        says=(
            "RAT tepat waktu pada {v} tahun buku selama sakit",
            "an on-time annual members' meeting (RAT) in {v} of the book years while sick",
        ),
        says_off=("tidak ada RAT tepat waktu selama sakit", "no on-time annual members' meeting (RAT) while sick"),
    ),
    _f(
        "clinic_case_years",
        C,
        "lama kasus klinik yang berjalan",
        "years in the current clinic case",
        "years",
        0,
        source="clinic_cases",
        says=("kasus klinik yang berjalan dibuka {v} tahun lalu", "the current clinic case opened {v} years ago"),
        says_off=("kasus klinik yang berjalan dibuka tahun ini", "the current clinic case opened this year"),
    ),
    _f(
        "clinic_matches_onset_weakness",
        C,
        "klinik sesuai kelemahan sebelum sakit",
        "clinic matches the weakness before the sickness",
        "flag",
        0,
        source="clinic_cases",
        says=(
            "klinik yang menangani sesuai kelemahan yang terlihat sebelum sakit",
            "the treating clinic matches the weakness seen before the sickness",
        ),
        says_off=(
            "klinik yang menangani tidak sesuai kelemahan yang terlihat sebelum sakit",
            "the treating clinic does not match the weakness seen before the sickness",
        ),
    ),
]


def _previous(name: str) -> FeatureSpec:
    """Last year's value of a feature (features/build.py PREVIOUS_YEAR): its group, unit and source; no
    direction (with this year's value known, last year's can point either way)."""
    base = {s.name: s for s in [*_KEUANGAN, *_SDM, *_KELEMBAGAAN, *_CONTEXT, *_WEAKEST]}[name]
    says = says_off = None
    if base.unit == "flag" and base.says and base.says_off:
        says = (f"tahun lalu: {base.says[0]}", f"last year: {base.says[1]}")
        says_off = (f"tahun lalu: {base.says_off[0]}", f"last year: {base.says_off[1]}")
    label_id, label_en = base.label_id, base.label_en
    suffix = FLAG_SUFFIX if base.unit == "flag" else ("", "")
    label_id, label_en = label_id.removesuffix(suffix[0]), label_en.removesuffix(suffix[1])
    return FeatureSpec(
        f"{name}_prev",
        base.group,
        f"{label_id} tahun lalu{suffix[0]}",
        f"{label_en} last year{suffix[1]}",
        base.unit,
        0,
        source=base.source,
        says=says,
        says_off=says_off,
    )


# Last year's value of these features, as ``<name>_prev``: recovery takes time, so what the records showed a
# year earlier (and which clinic was treating then) still acts on whether a sick cooperative gets well.
PREVIOUS_YEAR = (
    "bad_loan_ratio",
    "equity_to_assets",
    "return_on_assets",
    "has_manager",
    "no_financial_statement",
    "clinic_case_open",
    "clinic_keuangan",
    "clinic_sdm",
    "clinic_kelembagaan",
    "clinic_matches_weakness",
    "clinic_at_weakest",
)
_PREVIOUS = [_previous(n) for n in PREVIOUS_YEAR]

FEATURES: dict[str, FeatureSpec] = {
    s.name: s for s in [*_KEUANGAN, *_SDM, *_KELEMBAGAAN, *_CONTEXT, *_WEAKEST, *_SICKNESS, *_PREVIOUS]
}
"""Every feature, in the column order of build_features' output (after coop_id and year)."""

SICK_ONLY = tuple(s.name for s in _SICKNESS if s.source != "clinic_cases")
"""The features that describe a sick spell: NaN on a row not sick."""

_ONE_YEAR_CHANGE = {s.change_of: s.name for s in FEATURES.values() if s.change_of}


def feature_groups() -> dict[str, str]:
    """Feature name -> group (KEUANGAN, SDM, KELEMBAGAAN, CONTEXT), for every feature."""
    return {name: spec.group for name, spec in FEATURES.items()}


def feature_label(name: str, lang: str = "id") -> str:
    """A feature's name in words for a person (``bad_loan_ratio`` -> "pinjaman bermasalah"); the name itself when
    the catalog has no such feature."""
    spec = FEATURES.get(name)
    return name if spec is None else spec.label_id if lang == "id" else spec.label_en


# ---------------------------------------------------------------- words
def _num(v: float, digits: int, lang: str) -> str:
    text = f"{v:,.{digits}f}"
    if lang == "id":  # Indonesian: 1.234,5
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def _pct_digits(v: float) -> int:
    return 0 if abs(v) >= 10 or float(v).is_integer() else 1


def _value_words(spec: FeatureSpec, v: float, lang: str) -> str:
    if spec.unit == "pct":
        return f"{_num(v, _pct_digits(v), lang)}%"
    if spec.unit == "ratio":
        return _num(v, 1 if abs(v) >= 10 else 2, lang)
    if spec.unit == "money":
        for size, id_word, en_word in (
            (1e12, "triliun", "trillion"),
            (1e9, "miliar", "billion"),
            (1e6, "juta", "million"),
        ):
            if abs(v) >= size:
                return f"Rp {_num(v / size, 1, lang)} {id_word if lang == 'id' else en_word}"
        return f"Rp {_num(v, 0, lang)}"
    if spec.unit == "days":
        return f"{v:.0f} {'hari' if lang == 'id' else 'days'}"
    if spec.unit == "years":
        return f"{_num(v, 0 if float(v).is_integer() else 1, lang)} {'tahun' if lang == 'id' else 'years'}"
    return _num(v, 0 if float(v).is_integer() else 1, lang)


def _bare(spec: FeatureSpec, v: float, lang: str) -> str:
    """The number alone, for templates that say the unit themselves ("{v} tahun")."""
    if spec.unit in ("count", "days", "years"):
        return _num(v, 0 if float(v).is_integer() else 1, lang)
    return _value_words(spec, v, lang)


def _diff_words(spec: FeatureSpec, d: float, lang: str) -> str:
    if spec.unit == "pct":
        amount = f"{_num(abs(d), _pct_digits(abs(d)), lang)} {'poin' if lang == 'id' else 'points'}"
    else:
        amount = _value_words(spec, abs(d), lang)
    if lang == "id":
        return f"{'naik' if d > 0 else 'turun'} {amount}"
    return f"{'up' if d > 0 else 'down'} {amount}"


def _finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _missing_words(spec: FeatureSpec, row: Mapping[str, float]) -> tuple[str, str]:
    def flagged(name: str) -> bool:
        return _finite(row.get(name)) and float(row[name]) >= 0.5

    if spec.name in SICK_ONLY:
        if _finite(row.get("years_sick")) and float(row["years_sick"]) == 0:
            return f"{spec.label_id}: tidak sedang sakit", f"{spec.label_en}: not sick"
        return (
            f"{spec.label_id}: tidak diketahui (tidak ada laporan tahun sebelum sakit)",
            f"{spec.label_en}: not known (no report of the year before the sickness)",
        )
    if spec.source == "financials" and flagged("no_financial_statement"):
        return "tidak ada laporan keuangan", "no financial statement filed"
    if spec.source == "staffing" and flagged("no_staffing_report"):
        return "tidak ada laporan SDM", "no staffing report filed"
    if spec.delta is not None or spec.name.endswith(("_growth_1y", "_growth_3y")):
        return (
            f"{spec.label_id}: tidak ada data tahun pembanding",
            f"{spec.label_en}: no earlier year to compare with",
        )
    if spec.source == "meetings" and spec.name == "rat_attendance_share":
        return "RAT tidak diadakan, kehadiran tidak ada", "no RAT held, so no attendance"
    if spec.source == "health":
        if flagged("never_assessed"):
            return "belum pernah dinilai kesehatannya", "never had a health assessment"
        return f"{spec.label_id}: tidak dinilai tahun ini", f"{spec.label_en}: not assessed this year"
    if spec.source == "clinic_cases":
        return f"{spec.label_id}: tidak ada kasus klinik", f"{spec.label_en}: no clinic case"
    if spec.source in ("financials", "staffing"):
        return (
            f"{spec.label_id}: tidak ada angka (dasar perhitungannya nol)",
            f"{spec.label_en}: no figure (what it is computed on is zero)",
        )
    return f"{spec.label_id} tidak diketahui", f"{spec.label_en} unknown"


def describe(name: str, row: Mapping[str, float]) -> tuple[str, str]:
    """Plain words (Indonesian, English) for feature ``name``'s value in ``row`` (a feature-table row).

    The one-year change is said beside the level when the row has it, e.g.
    ("pinjaman bermasalah naik ke 18% (naik 9 poin)", "bad loans rose to 18% (up 9 points)");
    a missing value is said as what it means ("tidak ada laporan keuangan", "no financial statement filed").
    """
    try:
        spec = FEATURES[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}; known: see features.catalog.FEATURES") from None
    v = row.get(name)
    if name in CATEGORICAL:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return _missing_words(spec, row)
        return f"{spec.label_id} {v}", f"{spec.label_en} {v}"
    if not _finite(v):
        return _missing_words(spec, row)
    v = float(v)
    if spec.unit == "flag":
        words = spec.says if v >= 0.5 else spec.says_off
        if words is None:
            yes = v >= 0.5
            stem_id, stem_en = spec.label_id.removesuffix(FLAG_SUFFIX[0]), spec.label_en.removesuffix(FLAG_SUFFIX[1])
            return f"{stem_id}: {'ya' if yes else 'tidak'}", f"{stem_en}: {'yes' if yes else 'no'}"
        return words
    if spec.unit == "category":
        code = HEALTH_CATEGORIES[min(max(int(round(v)), 0), len(HEALTH_CATEGORIES) - 1)]
        return f"{spec.label_id} {code}", f"{spec.label_en} {code}"
    if v == 0 and spec.says_off is not None:
        return spec.says_off
    if spec.says is not None:
        return spec.says[0].format(v=_bare(spec, v, "id")), spec.says[1].format(v=_bare(spec, v, "en"))
    if spec.since_onset_of is not None:
        base = FEATURES[spec.since_onset_of]
        if v == 0:
            return f"{base.label_id} tetap sejak sebelum sakit", f"{base.label_en} unchanged since before the sickness"
        return (
            f"{base.label_id} {_diff_words(spec, v, 'id')} sejak sebelum sakit",
            f"{base.label_en} {_diff_words(spec, v, 'en')} since before the sickness",
        )
    if spec.delta is not None:
        base = FEATURES[spec.delta[0]]
        k = spec.delta[1]
        if v == 0:
            return (f"{base.label_id} tetap dalam {k} tahun", f"{base.label_en} unchanged over {k} year(s)")
        return (
            f"{base.label_id} {_diff_words(spec, v, 'id')} dalam {k} tahun",
            f"{base.label_en} {_diff_words(spec, v, 'en')} over {k} year(s)",
        )
    value_id, value_en = _value_words(spec, v, "id"), _value_words(spec, v, "en")
    change_name = _ONE_YEAR_CHANGE.get(name)
    d = row.get(change_name) if change_name else None
    if _finite(d) and float(d) != 0:
        d = float(d)
        up = d > 0
        return (
            f"{spec.label_id} {'naik' if up else 'turun'} ke {value_id} ({_diff_words(spec, d, 'id')})",
            f"{spec.label_en} {'rose' if up else 'fell'} to {value_en} ({_diff_words(spec, d, 'en')})",
        )
    if _finite(d):
        return f"{spec.label_id} tetap {value_id}", f"{spec.label_en} unchanged at {value_en}"
    if spec.unit in ("count", "days", "years"):
        return f"{spec.label_id}: {value_id}", f"{spec.label_en}: {value_en}"
    return f"{spec.label_id} {value_id}", f"{spec.label_en} at {value_en}"
