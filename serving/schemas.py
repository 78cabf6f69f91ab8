"""The HTTP service's request and response types; the records' and the Scores' fields derive from the contract's
declaration (``klinik.data.contract``): names, types, codes, meanings and which may be left out.

A request carries each cooperative with its own records nested under it (``cooperatives[i].financials[j]``), so a
clinic officer's tool can send one cooperative without repeating its ``coop_id`` on every row. Nested rows may
still carry ``coop_id`` (as in the contract's tables); it must then be the cooperative's own.

These types check shape and type only (missing fields, wrong types, NaN or infinity, unknown fields, unknown
codes; a number, a flag and a date must each come as that JSON type: ``true`` is no count, ``1`` no flag): every
business rule of the contract (non-negative counts, totals that add up, duplicated years, years in the future) is
checked once, by ``klinik.data.validation``, on the tables built from the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    create_model,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from klinik.data.contract import SCORES, TABLE, TABLES, Column, Table

# The tables of a cooperative's own records, nested under it in a request: every input table about cooperatives.
NESTED_TABLES = tuple(t.name for t in TABLES if t.refers_to_cooperatives and t.use in ("required", "train", "optional"))


def _fits_int64(value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise ValueError("number too large for a count or a year")
    return value


def _json_number(value: Any) -> Any:
    """A number must come as a JSON number: ``true`` is not read as 1, nor ``"12"`` parsed (pydantic's lax mode
    would take both). A whole number written ``5.0`` still counts as 5."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "a boolean is not a number: send a JSON number")
    if isinstance(value, str):
        raise PydanticCustomError("number_type", "text is not a number: send a JSON number, without quotes")
    return value


def _date_text(value: Any) -> Any:
    """A date must come as text (``"2025-03-31"``): pydantic would read a number as seconds since 1970."""
    if isinstance(value, int | float):
        raise PydanticCustomError("date_type", "a date is text (YYYY-MM-DD), not a number")
    return value


# JSON integers are unbounded; our tables hold int64
Int = Annotated[int, BeforeValidator(_json_number), AfterValidator(_fits_int64)]
Number = Annotated[float, BeforeValidator(_json_number)]
# A flag is true or false (not 1, not "yes"); a date is ISO text (not a count of seconds).
_TYPE = {
    "text": str,
    "year": Int,
    "count": Int,
    "money": Number,
    "number": Number,
    "flag": StrictBool,
    "date": Annotated[dt.date, BeforeValidator(_date_text)],
}


class _Record(BaseModel):
    # Unknown fields are refused (a typo in an optional field would otherwise be dropped silently), NaN and
    # infinity never reach the models, and the values sent never appear in error messages, which BentoML logs.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)


def _field(column: Column, optional: bool = False, description: str = "") -> tuple[Any, Any]:
    """A column as a pydantic field: its type (a code as the Literal of its codes), its meaning, None when empty."""
    kind = Literal[column.codes] if column.kind == "code" else _TYPE[column.kind]  # type: ignore[valid-type]
    description = description or column.meaning + (f" ({column.unit})" if column.unit else "")
    if optional or column.optional:
        return kind | None, Field(default=None, description=description)
    return kind, Field(description=description)


def _fields(table: Table) -> dict[str, tuple[Any, Any]]:
    """Every column of ``table`` as a field; in a nested table coop_id may be left out (the parent's is used)."""
    return {
        c.name: _field(c, optional=True, description="optional; if given, the cooperative's own coop_id")
        if c.name == "coop_id" and table.name in NESTED_TABLES
        else _field(c)
        for c in table.columns
    }


def row_model(model_name: str, spec: Table) -> type[_Record]:
    """The request type of one row of a contract table."""
    doc = f"A row of {spec.name}: {spec.about}."
    return create_model(model_name, __base__=_Record, __module__=__name__, __doc__=doc, **_fields(spec))


CooperativeIn = row_model("CooperativeIn", TABLE["cooperatives"])
FinancialsIn = row_model("FinancialsIn", TABLE["financials"])
StaffingIn = row_model("StaffingIn", TABLE["staffing"])
MeetingIn = row_model("MeetingIn", TABLE["meetings"])
HealthIn = row_model("HealthIn", TABLE["health"])
ClinicCaseIn = row_model("ClinicCaseIn", TABLE["clinic_cases"])
_ROW_MODELS = {
    "financials": FinancialsIn,
    "staffing": StaffingIn,
    "meetings": MeetingIn,
    "health": HealthIn,
    "clinic_cases": ClinicCaseIn,
}
assert tuple(_ROW_MODELS) == NESTED_TABLES, "a nested table of the contract has no request type"

CoopRecords = create_model(
    "CoopRecords",
    __base__=_Record,
    __module__=__name__,
    __doc__="One cooperative and all its records (a year with no financials row means no statement was filed).",
    cooperative=(CooperativeIn, ...),
    **{t: (list[m], Field(default_factory=list)) for t, m in _ROW_MODELS.items()},
)


COUNTED = "problem_count"  # an entry of a type error with too many problems: (field, rule, how many) in its loc


class _Request(_Record):
    """A request's root: however many of its cells are wrong, the 400 stays small (a hostile or broken client can
    send hundreds of thousands of wrong cells): the first problems one by one, then counts by field and type."""

    @classmethod
    def model_validate_json(cls, json_data, **kwargs):
        # BentoML reads every request body through this. (A wrap validator would see the parsed JSON as Python
        # objects: a date's text then fails the strict check, and validation is several times slower.)
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            from klinik.serving.service_io import MAX_DETAIL, problem_counts

            if exc.error_count() <= MAX_DETAIL:
                raise
            found = exc.errors(include_url=False, include_context=False, include_input=False)
            first = [_detail(e["type"], e["msg"], e["loc"]) for e in found[:MAX_DETAIL]]
            counted = [  # each as (field, rule, how many): serving/errors.py makes them the answer's counts
                _detail(COUNTED, f"{n} problems of type {kind} at {where}", (where, kind, n))
                for where, kind, n in problem_counts([(e["loc"], e["msg"], e["type"]) for e in found])
            ]
            raise ValidationError.from_exception_data(exc.title, [*first, *counted], hide_input=True) from None


def _detail(kind: str, message: str, loc: tuple = ()) -> InitErrorDetails:
    # the message is passed as context, so braces in it are never read as a template
    return InitErrorDetails(type=PydanticCustomError(kind, "{message}", {"message": message}), loc=loc, input=None)


class ScoreRequest(_Request):
    cooperatives: list[CoopRecords] = Field(min_length=1)
    as_of_year: Int | None = Field(
        default=None, description="the fiscal year to score; default: the latest year in the records"
    )


class RankRequest(ScoreRequest):
    capacity: Int = Field(ge=0, description="how many cooperatives the clinic can reach out to now (K)")


class LookupRequest(_Request):
    coop_ids: list[str] = Field(min_length=1)


class ModelRequest(_Request):
    """/model takes no input (an empty JSON object, or no body)."""


# --- responses ---------------------------------------------------------------------------------------------


class Reason(BaseModel):
    """One reason (models/reasons.py): a fact about the cooperative, judged against a stated yardstick, and how far
    it moves the probability it explains."""

    kind: Literal["risk", "recovery_hinders", "recovery_helps"] = Field(
        description="risk: why it is at risk (for a sick cooperative: why it fell sick); recovery_hinders / "
        "recovery_helps: for a sick cooperative, what holds its recovery back / what helps it"
    )
    fact: str = Field(description="what the reason says, as a key (bad_loan_ratio, no_fs, rat, ...)")
    feature: str = Field(description="the model input that carries most of it")
    value: float | None = None
    contribution: float = Field(description="its contributions in the model's raw log-odds (signed)")
    points: float | None = Field(
        default=None,
        description="percentage points it moves p_sick_next (risk) or p_recover (recovery); none for a sick "
        "cooperative's risk reasons",
    )
    group: str = Field(description="the clinic area (KEUANGAN, SDM, KELEMBAGAAN) or CONTEXT")
    share: float = Field(description="its part of all contributions of its sign, CONTEXT included")
    label_id: str = Field(description="what the value is, in a few words, without numbers (Indonesian)")
    label_en: str
    text_id: str = Field(description="the reason in a sentence, with its yardstick (Indonesian)")
    text_en: str


# The Scores row of the contract, with the reasons structured (and in words in ``reasons_text``).
ScoreRow = create_model(
    "ScoreRow",
    __module__=__name__,
    __doc__="The Scores row of docs/data-contract.md, with the reasons structured (and in words in reasons_text).",
    **{
        **_fields(SCORES),
        "reasons": (list[Reason], Field(description="the reasons, structured: risk, then for the sick recovery")),
        "reasons_text": (str, Field(description=SCORES.column("reasons").meaning)),
        "certainty": (
            str | None,
            Field(
                default=None,
                description="when the 80% interval of p_recover straddles the treatment or closure review line: "
                "the estimate is uncertain, and what would settle it (Indonesian); null otherwise",
            ),
        ),
        "certainty_en": (str | None, Field(default=None, description="the same in English")),
    },
)


class Outreach(BaseModel):
    """Where the latest batch run's outreach list ended. /score gives each cooperative the action it would get in
    that population, whoever else is in the request; /rank ranks within the request instead."""

    as_of_year: int | None = Field(description="the year the batch run scored")
    threshold: float = Field(description="jangkau_threshold: JANGKAU needs p_sick_next at or above it")
    capacity: int | None = Field(description="the batch run's outreach capacity")
    listed: int = Field(description="how many JANGKAU the batch run recommended")
    p_sick_next_cutoff: float | None = Field(
        description="the lowest p_sick_next on the list when the capacity cut it (ties by coop_id up to "
        "coop_id_cutoff); null: fewer passed the threshold than the capacity, so the threshold alone decides"
    )
    coop_id_cutoff: str | None = None


class ScoreResponse(BaseModel):
    as_of_year: int
    model_versions: dict[str, str]
    scores: list[ScoreRow]
    warnings: list[str] = Field(default_factory=list)
    outreach: Outreach | None = Field(
        default=None, description="/score: the population cut-off applied (null: no batch run yet, threshold alone)"
    )


class RankResponse(ScoreResponse):
    capacity: int = Field(description="how many cooperatives the clinic can reach out to")
    outreach: list[str] = Field(description="coop_ids recommended JANGKAU (reach out now), in outreach order")


class BatchRun(BaseModel):
    """The ``klinik score`` run a batch output comes from (None where its manifest is missing)."""

    as_of_year: int | None = Field(description="the fiscal year scored")
    finished_at: str | None = Field(description="when the run finished (UTC, ISO 8601)")
    manifest_sha256: str | None = Field(description="sha256 of the run's manifest.json: names the run exactly")


class LookupResponse(BaseModel):
    source: BatchRun = Field(description="the batch run the rows come from")
    scores: list[dict]
    not_found: list[str] = Field(default_factory=list)


class ServedModel(BaseModel):
    name: str
    version: str
    alias: str
    run_id: str | None = None
    trained_at: str | None = None
    holdout_year: str | None = None
    train_years: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    bento_tag: str


class ModelResponse(BaseModel):
    models: dict[str, ServedModel]
    outreach: Outreach | None = Field(
        default=None, description="where the latest batch run's outreach list ended (null: no batch run yet)"
    )


class FieldProblem(BaseModel):
    """One thing wrong with a request, at a field, in the shape BentoML gives its own type errors (``loc``, ``msg``)."""

    loc: list[str | int]
    field: str
    msg: str
    type: str


class ProblemCount(BaseModel):
    """How many problems of a request break one rule at one field (``cooperatives[].financials[].cash``)."""

    field: str
    rule: str
    count: int


class ErrorResponse(BaseModel):
    error: str
    detail: list[FieldProblem] = Field(default_factory=list, description="the first problems, one by one")
    counts: list[ProblemCount] = Field(
        default_factory=list, description="when there are more: every problem counted by field and rule"
    )
