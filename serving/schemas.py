"""The HTTP service's request and response types, declared once: field names are docs/data-contract.md's.

A request carries each cooperative with its own records nested under it (``cooperatives[i].financials[j]``), so a
clinic officer's tool can send one cooperative without repeating its ``coop_id`` on every row. Nested rows may
still carry ``coop_id`` (as in the contract's tables); it must then be the cooperative's own.

These types check shape and type only (missing fields, wrong types, NaN or infinity, unknown fields, unknown
codes): every business rule of the contract (non-negative counts, totals that add up, duplicated years, years in
the future) is checked once, by ``klinik.data.validation``, on the tables built from the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from klinik.data.contract import CASE_OUTCOMES, CLINICS, COOP_TYPES, HEALTH_CATEGORIES, MEETING_TYPES

CoopType = Literal[COOP_TYPES]  # type: ignore[valid-type]
MeetingType = Literal[MEETING_TYPES]  # type: ignore[valid-type]
HealthCategory = Literal[HEALTH_CATEGORIES]  # type: ignore[valid-type]
Clinic = Literal[CLINICS]  # type: ignore[valid-type]
CaseOutcome = Literal[CASE_OUTCOMES]  # type: ignore[valid-type]


def _fits_int64(value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise ValueError("number too large for a count or a year")
    return value


Int = Annotated[int, AfterValidator(_fits_int64)]  # JSON integers are unbounded; our tables hold int64


class _Record(BaseModel):
    # Unknown fields are refused (a typo in an optional field would otherwise be dropped silently), NaN and
    # infinity never reach the models, and the values sent never appear in error messages, which BentoML logs.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)


class _YearRow(_Record):
    coop_id: str | None = Field(default=None, description="optional; if given, the cooperative's own coop_id")
    year: Int = Field(description="fiscal year (tahun buku)")


class CooperativeIn(_Record):
    coop_id: str
    name: str
    coop_type: CoopType
    district: str = Field(description="kecamatan")
    founded_year: Int
    dissolved_year: Int | None = None


class FinancialsIn(_YearRow):
    """One annual statement (neraca + perhitungan hasil usaha), money in Rupiah."""

    cash: float
    current_assets: float
    total_assets: float
    loans_outstanding: float
    loans_to_members: float
    loans_substandard: float
    loans_doubtful: float
    loans_loss: float
    loan_loss_reserve: float
    current_liabilities: float
    total_liabilities: float
    voluntary_savings: float
    external_borrowings: float
    equity: float
    principal_savings: float
    mandatory_savings: float
    gross_participation: float
    other_revenue: float
    operating_expenses: float
    personnel_expenses: float
    net_income: float


class StaffingIn(_YearRow):
    members: Int
    board_members: Int
    supervisors: Int
    employees: Int
    has_manager: bool
    certified_staff: Int
    trained_staff: Int
    staff_departures: Int


class MeetingIn(_Record):
    coop_id: str | None = None
    meeting_type: MeetingType
    fiscal_year: Int
    held_on: dt.date
    attendees: Int | None = None


class HealthIn(_YearRow):
    category: HealthCategory
    score: float | None = None


class ClinicCaseIn(_Record):
    case_id: str
    coop_id: str | None = None
    clinic: Clinic
    opened_on: dt.date
    closed_on: dt.date | None = None
    outcome: CaseOutcome | None = None


class CoopRecords(_Record):
    """One cooperative and all its records (a year with no financials row means no statement was filed)."""

    cooperative: CooperativeIn
    financials: list[FinancialsIn] = Field(default_factory=list)
    staffing: list[StaffingIn] = Field(default_factory=list)
    meetings: list[MeetingIn] = Field(default_factory=list)
    health: list[HealthIn] = Field(default_factory=list)
    clinic_cases: list[ClinicCaseIn] = Field(default_factory=list)


class ScoreRequest(_Record):
    cooperatives: list[CoopRecords] = Field(min_length=1)
    as_of_year: Int | None = Field(
        default=None, description="the fiscal year to score; default: the latest year in the records"
    )


class RankRequest(ScoreRequest):
    capacity: Int = Field(ge=0, description="how many cooperatives the clinic can reach out to now (K)")


class LookupRequest(_Record):
    coop_ids: list[str] = Field(min_length=1)


class ModelRequest(_Record):
    """/model takes no input (an empty JSON object, or no body)."""


# --- responses ---------------------------------------------------------------------------------------------


class Reason(BaseModel):
    """One factor that pushes the risk up, with its share of the push (shares of all such factors add to 1)."""

    feature: str
    value: float | None = None
    contribution: float
    group: str
    share: float
    text_id: str
    text_en: str


class ScoreRow(BaseModel):
    """The Scores row of docs/data-contract.md, with the reasons structured (and in words in ``reasons_text``)."""

    coop_id: str
    as_of_year: int
    status: str
    p_sick_next: float | None = None
    p_recover: float | None = None
    clinic: str | None = None
    reasons: list[Reason]
    reasons_text: str
    action: str
    rank: int
    model_version: str


class ScoreResponse(BaseModel):
    as_of_year: int
    model_versions: dict[str, str]
    scores: list[ScoreRow]
    warnings: list[str] = Field(default_factory=list)


class RankResponse(ScoreResponse):
    capacity: int = Field(description="how many cooperatives the clinic can reach out to")
    outreach: list[str] = Field(description="coop_ids recommended JANGKAU (reach out now), in outreach order")


class LookupResponse(BaseModel):
    source: str = Field(description="the batch output the rows come from")
    scores: list[dict]
    not_found: list[str] = Field(default_factory=list)


class ServedModel(BaseModel):
    name: str
    version: str
    alias: str
    run_id: str | None = None
    trained_at: str | None = None
    holdout_year: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    bento_tag: str


class ModelResponse(BaseModel):
    models: dict[str, ServedModel]


class Problem(BaseModel):
    """One thing wrong with a request, in the shape BentoML gives its own type errors (``loc``, ``msg``)."""

    loc: list[str | int]
    field: str
    msg: str
    type: str


class ErrorResponse(BaseModel):
    error: str
    detail: list[Problem] = Field(default_factory=list)
