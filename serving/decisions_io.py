"""Decisions in and out of the batch job's files.

- The advice of a batch output folder (scores.parquet, and the sha256 of its manifest.json): what a decision
  answers, looked up by the API, the import and the staff page, never taken from the person typing.
- The clinic workbook's "Keputusan petugas" and "Catatan" columns read back (``klinik decisions import``): every
  entry checked against the fixed list of its sheet's action; any problem refuses the whole import, naming
  sheet, row and value; entries the record already holds are not recorded twice, and an entry still showing
  the decision the workbook was written with is left when the record has moved on since (``InForce``).
- Before the batch job replaces an output folder, decisions typed into its workbook that the record lacks are
  imported (``klinik score --officer NAME``) or the run stops and says how to keep them: none is lost silently.
- The decisions in force for a year, for the batch job to write into the new workbook; last year's decisions
  beside what became of the cooperatives, for the report. ``BatchRecord`` is all the batch job asks.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from klinik.data.contract import STATUS_BELUM_DINILAI, STATUS_SAKIT, STATUS_SEHAT
from klinik.serving import decisions as lists
from klinik.serving.excel import DECISION_HEADERS, SHEETS
from klinik.serving.records import Advice, NewDecision, Records

WORKBOOK_GLOB = "klinik-koperasi-*.xlsx"
ID_HEADER = "ID koperasi"
MAX_LISTED = 20  # problems listed in one message; the rest are counted


class ImportRefused(Exception):
    """The workbook (or the folder) cannot be recorded as it is; the message lists what to put right."""


# What reading a damaged or foreign file raises: not a zip or cut short (BadZipFile, zlib.error, EOFError), a zip
# that is no workbook (KeyError; openpyxl's InvalidFileException, added where it is imported), broken XML (a
# SyntaxError), unreadable (OSError).
UNREADABLE = (OSError, ValueError, KeyError, EOFError, SyntaxError, zipfile.BadZipFile, zlib.error)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:300]


# ---------------------------------------------------------------- the advice of a batch output
@dataclass(frozen=True)
class AdviceBook:
    """The advice of one batch output folder: coop_id -> Advice, for one fiscal year."""

    folder: Path
    as_of_year: int
    manifest_sha256: str | None
    advice: dict[str, Advice]


def advice_book(folder: Path) -> AdviceBook:
    """Read the advice of a batch output folder (``klinik score --out``); ImportRefused if it is not one."""
    folder = Path(folder)
    scores = folder / "scores.parquet"
    if not scores.is_file():
        raise ImportRefused(f"{folder} holds no scores.parquet: it is not a batch output folder (`klinik score`)")
    columns = ["coop_id", "as_of_year", "action", "p_sick_next", "p_recover", "clinic", "model_version"]
    try:
        frame = pd.read_parquet(scores, columns=columns)
    except (OSError, ValueError, KeyError) as err:  # pyarrow's errors are these too: damaged, cut short, other columns
        raise ImportRefused(f"cannot read {scores} as a batch output's scores: {_first_line(err)}") from None
    years = frame["as_of_year"].unique()
    if len(years) != 1:
        raise ImportRefused(f"{scores} holds {len(years)} fiscal years; a batch output holds one")
    manifest = folder / "manifest.json"
    sha = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None
    year = int(years[0])
    advice = {}
    for coop_id, action, p_sick, p_recover, clinic, version in frame[columns[:1] + columns[2:]].itertuples(
        index=False, name=None
    ):
        advice[str(coop_id)] = Advice(
            coop_id=str(coop_id),
            as_of_year=year,
            action=str(action),
            p_sick_next=None if pd.isna(p_sick) else float(p_sick),
            p_recover=None if pd.isna(p_recover) else float(p_recover),
            clinic=None if pd.isna(clinic) else str(clinic),
            model_version=str(version),
            manifest_sha256=sha,
        )
    return AdviceBook(folder, year, sha, advice)


# ---------------------------------------------------------------- the workbook's decision columns
@dataclass(frozen=True)
class Typed:
    """One decision typed into a workbook: where, for which cooperative, what."""

    sheet: str
    row: int
    coop_id: str
    decision: str
    note: str | None

    @property
    def where(self) -> str:
        return f"sheet '{self.sheet}', row {self.row}"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@dataclass(frozen=True)
class Filled:
    """What a clinic workbook holds: the decisions in it, and the record's newest entry id when it was written
    (None for a workbook without the mark)."""

    typed: list[Typed]
    through_id: int | None


def read_workbook(path: Path) -> Filled:
    """The decisions in a clinic workbook (rows whose decision and note are both empty are left out)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (*UNREADABLE, InvalidFileException)
    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except unreadable as err:
        raise ImportRefused(f"cannot read {path} as an Excel workbook: {_first_line(err)}") from None
    typed = []
    try:
        for sheet in SHEETS:
            if sheet not in wb.sheetnames:
                continue
            rows = wb[sheet].iter_rows(values_only=True)
            header = [_text(v) for v in next(rows, ())]
            wanted = (ID_HEADER, *DECISION_HEADERS)
            missing = [h for h in wanted if h not in header]
            if missing:
                raise ImportRefused(f"{path}: sheet '{sheet}' has no column '{missing[0]}' in its first row")
            at = [header.index(h) for h in wanted]
            for number, values in enumerate(rows, start=2):
                cells = [_text(values[j]) if j < len(values) else "" for j in at]
                coop_id, decision, note = cells
                if decision or note:
                    typed.append(Typed(sheet, number, coop_id, decision, note or None))
        through = lists.written_through(wb)
    except unreadable as err:  # read_only reads each sheet as it goes: a damaged one fails here
        raise ImportRefused(f"cannot read {path} as an Excel workbook: {_first_line(err)}") from None
    finally:
        wb.close()
    return Filled(typed, through)


@dataclass
class Plan:
    """What an import would do: the entries to record, how many the record holds already, how many it has
    moved on from since the workbook was written (left as they are), the problems."""

    new: list[tuple[Typed, NewDecision]]
    unchanged: int
    superseded: int
    problems: list[str]


def plan_import(records: Records, filled: Filled, book: AdviceBook, officer: str) -> Plan:
    """Check every typed entry against the advice and the fixed lists, and against the record.

    An entry equal to the decision in force is already recorded. An entry equal to the decision the workbook was
    written with, when the record holds a newer one (entered since on the page or the API), is left: recording
    it would undo the newer decision. Anything else was typed into the workbook, and is recorded.
    """
    plan = Plan([], 0, 0, [])
    seen: dict[str, Typed] = {}
    checked: list[tuple[Typed, Advice, str, str | None]] = []
    for t in filled.typed:
        action = SHEETS[t.sheet]
        advice = book.advice.get(t.coop_id)
        if not t.coop_id:
            plan.problems.append(f"{t.where}: no {ID_HEADER} beside the decision")
        elif advice is None:
            plan.problems.append(f"{t.where}: {t.coop_id!r} is not in the batch output for {book.as_of_year}")
        elif advice.action != action:
            plan.problems.append(
                f"{t.where}: {t.coop_id} is advised {advice.action} in the batch output for {book.as_of_year}, "
                f"not {action}: the workbook does not belong to {book.folder}"
            )
        elif not t.decision:
            plan.problems.append(f"{t.where}: a note without a decision in '{DECISION_HEADERS[0]}'")
        elif t.coop_id in seen and (seen[t.coop_id].decision, seen[t.coop_id].note) != (t.decision, t.note):
            plan.problems.append(f"{t.where}: {t.coop_id} has another decision at {seen[t.coop_id].where}")
        else:
            try:
                choice, note = lists.check(action, t.decision, t.note)
            except lists.DecisionInvalid as err:
                plan.problems.append(f"{t.where}: {err.message}")
                continue
            if t.coop_id not in seen:
                seen[t.coop_id] = t
                checked.append((t, advice, choice.code, note))
    if plan.problems:
        return plan
    coops = [a.coop_id for _, a, _, _ in checked]
    recorded = records.latest_decisions(book.as_of_year, coops)
    written = {} if filled.through_id is None else records.latest_decisions(book.as_of_year, coops, filled.through_id)

    def holds(entry, advice: Advice, code: str, note: str | None) -> bool:
        return entry is not None and entry.action == advice.action and entry.same_as(code, note)

    for t, advice, code, note in checked:
        if holds(recorded.get(advice.coop_id), advice, code, note):
            plan.unchanged += 1
        elif holds(written.get(advice.coop_id), advice, code, note):
            plan.superseded += 1
        else:
            plan.new.append((t, NewDecision(advice, code, note, officer)))
    return plan


def _listed(lines: list[str]) -> str:
    shown = "\n".join(f"  {line}" for line in lines[:MAX_LISTED])
    more = len(lines) - MAX_LISTED
    return shown + (f"\n  ... and {more} more" if more > 0 else "")


def _year_in_name(path: Path) -> int | None:
    found = re.fullmatch(r"klinik-koperasi-(\d{4})\.xlsx", path.name)
    return int(found[1]) if found else None


@dataclass(frozen=True)
class Imported:
    as_of_year: int
    recorded: int
    unchanged: int
    superseded: int


def _require_officer(records: Records, officer: str) -> None:
    user = records.find_user(officer)
    if user is None or not user.active:
        raise ImportRefused(f"no active staff account named {officer!r} (`klinik users add NAME --role petugas`)")


def import_workbook(records: Records, workbook: Path, officer: str, scores_dir: Path | None = None) -> Imported:
    """``klinik decisions import``: record the workbook's new decisions in one transaction, or none of them.

    The advice comes from the batch output folder the workbook sits in, or ``scores_dir`` when it was moved.
    """
    workbook = Path(workbook)
    if not workbook.is_file():
        raise ImportRefused(f"no file {workbook}")
    _require_officer(records, officer)
    book = advice_book(scores_dir if scores_dir is not None else workbook.parent)
    named = _year_in_name(workbook)
    if named is not None and named != book.as_of_year:
        raise ImportRefused(f"{workbook} is for {named}, but the batch output {book.folder} is for {book.as_of_year}")
    plan = plan_import(records, read_workbook(workbook), book, officer)
    if plan.problems:
        raise ImportRefused(f"{workbook}: {len(plan.problems)} problem(s):\n{_listed(plan.problems)}")
    records.record_decisions([new for _, new in plan.new], source="import")
    return Imported(book.as_of_year, len(plan.new), plan.unchanged, plan.superseded)


# ---------------------------------------------------------------- the batch job's side
def folder_stamp(out: Path) -> tuple:
    """What changes when someone saves a workbook in ``out`` (checked again just before the folder is replaced)."""
    if not Path(out).is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(Path(out).glob(WORKBOOK_GLOB)))


def keep_typed_decisions(records: Records, out: Path, officer: str | None) -> list[str]:
    """Before the batch job replaces ``out``: decisions typed into its workbook that the record lacks are recorded
    as ``officer`` (source "batch"), or, without an officer, ImportRefused says how to keep them. Returns a line
    per workbook whose decisions were recorded."""
    said = []
    for workbook in sorted(Path(out).glob(WORKBOOK_GLOB)) if Path(out).is_dir() else []:
        filled = read_workbook(workbook)
        if not filled.typed:
            continue
        plan = plan_import(records, filled, advice_book(out), officer or "")
        if plan.problems:
            raise ImportRefused(
                f"{workbook} holds decisions that cannot be recorded as they are:\n{_listed(plan.problems)}\n"
                f"Put them right in the workbook and record them (`klinik decisions import {workbook} --officer "
                f"NAME`), or move {out} away."
            )
        if not plan.new:
            continue
        if officer is None:
            raise ImportRefused(
                f"{workbook} holds {len(plan.new)} decision(s) that are not in the record yet:\n"
                f"{_listed([f'{t.where}: {t.coop_id} {t.decision!r}' for t, _ in plan.new])}\n"
                f"Record them first (`klinik decisions import {workbook} --officer NAME`), or run again with "
                f"--officer NAME to record them under that account."
            )
        _require_officer(records, officer)
        records.record_decisions([new for _, new in plan.new], source="batch")
        said.append(f"recorded {len(plan.new)} decision(s) typed into {workbook} before replacing it")
    return said


def in_force(records: Records, as_of_year: int) -> lists.InForce:
    """The decisions in force for ``as_of_year``, as the workbook shows them, and how far the record was read."""
    through = records.last_id()
    entries = records.latest_decisions(as_of_year, through_id=through)
    return lists.InForce({c: (d.action, d.label, d.note) for c, d in entries.items()}, through)


# ---------------------------------------------------------------- next year's run: what was decided, what followed
GONE = "GONE"  # no longer among the registered cooperatives scored (dissolved, or struck off)
OUTCOMES = (STATUS_SAKIT, STATUS_SEHAT, STATUS_BELUM_DINILAI, GONE)


@dataclass(frozen=True)
class DecisionReview:
    """Last year's decisions beside the cooperatives' status this year: one row per (action, decision) with the
    number of cooperatives and how many of them are in each of OUTCOMES now."""

    advice_year: int
    outcome_year: int
    table: pd.DataFrame  # action, decision, label, coops, SAKIT, SEHAT, BELUM_DINILAI, GONE


def review_last_year(records: Records, scores: pd.DataFrame, as_of_year: int) -> DecisionReview | None:
    """The decisions in force on the advice for ``as_of_year - 1``, by what became of the cooperatives (their
    status in this run's ``scores``); None when nothing was decided then."""
    decided = records.latest_decisions(as_of_year - 1)
    if not decided:
        return None
    status = dict(zip(scores["coop_id"].astype(str), scores["status"].astype(str)))
    frame = pd.DataFrame(
        [(d.action, d.decision, status.get(coop_id, GONE)) for coop_id, d in decided.items()],
        columns=["action", "decision", "outcome"],
    )
    order = [(a, c.code) for a, choices in lists.CHOICES.items() for c in choices]
    counts = pd.crosstab([frame["action"], frame["decision"]], frame["outcome"])
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    known = [key for key in order if key in counts.index]
    counts = counts.loc[known + [k for k in counts.index if k not in known]]  # codes no longer listed go last
    table = counts.reset_index()
    table.insert(2, "label", [lists.label_of(a, c) for a, c in zip(table["action"], table["decision"])])
    table.insert(3, "coops", counts.sum(axis=1).to_numpy())
    return DecisionReview(as_of_year - 1, as_of_year, table.rename_axis(columns=None))


# ---------------------------------------------------------------- the batch job's dealings with the record
class BatchRecord:
    """What ``klinik score`` asks of the record, in order: open it (refused on another schema), keep the decisions
    typed into the workbook of the folder it will replace (``keep``, then ``keep_again`` just before the swap, if
    a workbook changed since), the decisions in force for the new workbook, and last year's review.
    Raises RecordsError, ImportRefused or DecisionInvalid with the reason."""

    def __init__(self, settings, out: Path, officer: str | None):
        from klinik.serving.records import open_records

        self.records = open_records(settings)
        self.out, self.officer, self._stamp = Path(out), officer, None

    def keep(self) -> list[str]:
        self._stamp = folder_stamp(self.out)
        return keep_typed_decisions(self.records, self.out, self.officer)

    def keep_again(self) -> list[str]:
        return self.keep() if folder_stamp(self.out) != self._stamp else []

    def entries(self, as_of_year: int) -> lists.InForce:
        return in_force(self.records, as_of_year)

    def review(self, scores: pd.DataFrame, as_of_year: int) -> DecisionReview | None:
        return review_last_year(self.records, scores, as_of_year)

    def __enter__(self) -> BatchRecord:
        return self

    def __exit__(self, *exc) -> None:
        self.records.close()
