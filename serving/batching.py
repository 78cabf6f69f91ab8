"""Scoring requests together: the requests that arrive while one pass runs are scored in the next pass, as one.

Why: checking a request against the contract and building its features costs a few hundred pandas operations
whatever the number of cooperatives, so one cooperative per request pays almost all of it. Scoring the waiting
requests together pays it once per pass. At low load a request is scored at once, alone; under load the queue
fills while a pass runs, and the next pass takes it (up to ``max_coops_per_request`` cooperatives). After a
pass, the clients it answered send their next requests within milliseconds: the next pass waits for them (at
most GATHER_SECONDS, and only until as many requests wait as were in play), so the clients do not split into
cohorts scored in alternate passes. A clean group is checked by serving.request_check; data.validation checks
(and words the 400 of) anything else. One pass at a time per worker, in a thread, so the server keeps accepting
requests meanwhile.

Each request still gets exactly its own answer:
- requests are grouped only when they share ``as_of_year`` and no cooperative (or clinic case) id, so one
  request's rows never meet another's under a uniqueness rule; a request lacking a table that the contract
  wants non-empty is checked alone, so it gets the same refusal it would get alone;
- the contract's problems are attributed to the request whose rows broke the rule; the others are checked again
  without it and scored;
- the group is scored by ``klinik.serving.scoring.score_dataset`` with no outreach limit (probabilities, clinic and
  reasons of a cooperative do not depend on the others); then each request's action and outreach rank come from
  the same ``klinik.models.policy`` calls score_dataset makes, on that request's cooperatives: for /rank with the
  request's own capacity (it ranks within the request), for /score with the cut-off of the population (the latest
  batch run's outreach list), so a cooperative's action never depends on who else is in the request. (A test
  checks this against ``klinik score`` on the whole world.)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from klinik.data.contract import NON_EMPTY_TABLES
from klinik.serving.service_io import (
    MAX_DETAIL,
    NESTED_TABLES,
    RequestInvalid,
    RequestTables,
    flatten,
    problem_text,
    records_warnings,
    request_problems,
    score_rows,
    tables_from_rows,
)

if TYPE_CHECKING:
    from klinik.data.dataset import Dataset
    from klinik.models.policy import OutreachCutoff
    from klinik.serving.schemas import CoopRecords
    from klinik.serving.scoring import LoadedModels, ScoreResult
    from klinik.settings import Settings


GATHER_SECONDS = 0.02  # the longest wait for the next requests after a pass (a pass takes ~100 ms)
_ROW_NUMBER = re.compile(r"\brow \d+\b")  # in a rule's words ("the same as row 7"): not part of the rule


@dataclass(eq=False)
class Job:
    """One /score or /rank request on its way through a pass. ``capacity``: /rank's (ranks within the request), or
    "population" (/score: the action each cooperative gets in its population, cut where ``cutoff`` says; None: no
    batch run yet, the threshold alone)."""

    cooperatives: list[CoopRecords]
    as_of_year: int | None
    capacity: int | Literal["population"]
    cutoff: OutreachCutoff | None = None
    rows: dict[str, list[dict]] = field(default_factory=dict)
    where: dict[str, list[tuple]] = field(default_factory=dict)
    keys: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Answer:
    as_of_year: int
    scores: list[dict[str, Any]]
    warnings: list[str]
    capacity: int | None


def _latest_year(coops: list[CoopRecords]) -> int | None:
    years = [r.year for c in coops for t in ("financials", "staffing", "health") for r in getattr(c, t)]
    return max(years) if years else None


def prepare(job: Job, settings: Settings) -> None:
    """Checks of one request that need no other (size, as_of_year); its tables and its keys. RequestInvalid."""
    limit = settings.max_coops_per_request
    if len(job.cooperatives) > limit:
        raise RequestInvalid(
            [
                (
                    ("cooperatives",),
                    f"at most {limit} cooperatives per request "
                    f"(KLINIK_MAX_COOPS_PER_REQUEST), got {len(job.cooperatives)}: split the request",
                    "too_many",
                )
            ],
            error="too many cooperatives in one request",
        )
    if job.as_of_year is None:  # a year in the future in the records is then reported where it is written
        job.as_of_year = _latest_year(job.cooperatives)
        if job.as_of_year is None:
            raise RequestInvalid(
                [
                    (
                        ("as_of_year",),
                        "no financials, staffing or health rows to take the latest "
                        "year from: send records or as_of_year",
                        "missing",
                    )
                ]
            )
    elif job.as_of_year > settings.current_year:
        raise RequestInvalid([(("as_of_year",), f"{job.as_of_year} is in the future", "future_year")])
    problems = request_problems(job.cooperatives, job.as_of_year, settings)
    if problems:
        raise RequestInvalid(problems)
    job.rows, job.where = flatten(job.cooperatives)
    job.keys = job.keys or ids_of(job.cooperatives)  # _take may have found them already


def ids_of(cooperatives: list[CoopRecords]) -> set[tuple[str, str]]:
    """The ids a request's rows hold under the contract's uniqueness rules: its cooperatives and clinic cases."""
    keys = {("coop", c.cooperative.coop_id) for c in cooperatives}
    return keys | {("case", r.case_id) for c in cooperatives for r in c.clinic_cases}


def _alone(job: Job) -> bool:
    """A request missing a table the contract wants non-empty is checked alone (others would hide the gap)."""
    return any(not job.rows[t] for t in NON_EMPTY_TABLES)


@dataclass(eq=False)
class _Group:
    year: int
    jobs: list[Job]
    keys: set[tuple[str, str]]
    n_coops: int

    def takes(self, job: Job, max_coops: int) -> bool:
        return (
            self.year == job.as_of_year
            and not _alone(self.jobs[0])
            and not _alone(job)
            and self.n_coops + len(job.cooperatives) <= max_coops
            and not (self.keys & job.keys)
        )


def groups(jobs: list[Job], max_coops: int) -> list[list[Job]]:
    """Jobs in arrival order, grouped by as_of_year with disjoint ids and at most ``max_coops`` cooperatives."""
    out: list[_Group] = []
    for job in jobs:
        home = next((g for g in out if g.takes(job, max_coops)), None)
        if home is None:
            out.append(_Group(job.as_of_year, [job], set(job.keys), len(job.cooperatives)))
        else:
            home.jobs.append(job)
            home.keys |= job.keys
            home.n_coops += len(job.cooperatives)
    return [g.jobs for g in out]


def _combined(jobs: list[Job]) -> tuple[dict[str, list[dict]], dict[str, list[tuple]], dict[str, np.ndarray]]:
    """The jobs' rows stacked (row locations stay each job's own) and, per table row, the job it belongs to."""
    rows, where, owner = {}, {}, {}
    for name in ("cooperatives", *NESTED_TABLES):
        rows[name] = [r for j in jobs for r in j.rows[name]]
        where[name] = [loc for j in jobs for loc in j.where[name]]
        owner[name] = np.concatenate([np.full(len(j.rows[name]), k, dtype=np.int64) for k, j in enumerate(jobs)])
    return rows, where, owner


def checked(rows: dict[str, list[dict]], where: dict[str, list[tuple]]) -> Dataset:
    """The request rows as a typed Dataset, or DatasetInvalid with every problem (rows numbered per table).

    Clean rows are judged and typed by serving.request_check (no pandera cost); anything it flags or cannot
    judge is checked by data.validation, which writes every problem reported."""
    from klinik.data.validation import validate_tables
    from klinik.serving.request_check import clean_dataset

    ds = clean_dataset(rows, source="request")
    if ds is not None:
        return ds
    return validate_tables(tables_from_rows(rows, where).tables, source="request", require_health=False)


def _policy_inputs(result: ScoreResult) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Each coop_id's position, and the policy's inputs (scores joined with evidence) as arrays in that order."""
    at = {c: i for i, c in enumerate(result.scores["coop_id"])}
    cols = {
        c: result.scores[c].to_numpy()
        for c in ("coop_id", "status", "p_sick_next", "p_recover", "p_recover_hi", "clinic")
    }
    evidence = result.evidence.set_index("coop_id").reindex(cols["coop_id"])
    cols |= {c: evidence[c].to_numpy(dtype=float) for c in ("rat_missed_years", "years_sick")}
    return at, cols


def _own_rows(
    rows: dict[str, dict],
    at: dict[str, int],
    cols: dict[str, np.ndarray],
    ids: list[str],
    job: Job,
    settings: Settings,
) -> tuple[list[dict], int | None]:
    """One request's rows of a group's result, with its own action and outreach rank: the models.policy calls
    score_dataset makes, on this request's cooperatives, with the request's capacity (/rank) or the population's
    cut-off (/score). Rows in rank order."""
    from klinik.models.policy import decide, outreach_rank

    pos = np.array([at[c] for c in ids if c in at], dtype=np.int64)
    mine = {c: v[pos] for c, v in cols.items()}
    population = job.capacity == "population"
    cap = None if population else job.capacity
    action = decide(
        mine["status"],
        mine["p_sick_next"],
        mine["p_recover"],
        mine["clinic"],
        mine["rat_missed_years"],
        mine["years_sick"],
        settings,
        capacity=cap,
        tie_break=mine["coop_id"],
        cutoff=job.cutoff if population else None,
        p_recover_hi=mine["p_recover_hi"],
    )
    if population:
        cap = job.cutoff.capacity if job.cutoff is not None else None
    rank = outreach_rank(mine["status"], mine["p_sick_next"], mine["p_recover"], action, tie_break=mine["coop_id"])
    out = [{**rows[c], "action": str(a), "rank": int(r)} for c, a, r in zip(mine["coop_id"], action, rank)]
    return sorted(out, key=lambda row: row["rank"]), cap


def score_group(jobs: list[Job], models: LoadedModels, settings: Settings) -> list[Answer | RequestInvalid]:
    """Check and score jobs together (see the module's notes); one Answer or RequestInvalid per job."""
    from klinik.data.validation import DatasetInvalid
    from klinik.features.panel import registered_coop_years
    from klinik.serving.scoring import score_dataset

    rows, where, owner = _combined(jobs)
    try:
        ds = checked(rows, where)
    except DatasetInvalid as err:
        req = RequestTables({}, where)
        found: dict[int, list] = {}
        for p in err.problems:
            attributable = p.row is not None and p.table in owner
            if not attributable and len(jobs) > 1:  # a problem of the whole group: each request on its own
                return [a for j in jobs for a in score_group([j], models, settings)]
            k = int(owner[p.table][p.row]) if attributable else 0
            column = p.column if p.column and "," not in p.column else None  # a key of several columns: the row
            mine = found.setdefault(k, [])
            text = problem_text(p, req) if len(mine) < MAX_DETAIL else ""  # the answer shows the first ones only
            mine.append((req.loc(p.table, p.row, column), text, "contract", _ROW_NUMBER.sub("row N", p.rule)))
        rest = [j for k, j in enumerate(jobs) if k not in found]
        answers = dict(
            zip([k for k in range(len(jobs)) if k not in found], score_group(rest, models, settings) if rest else [])
        )
        return [RequestInvalid(found[k]) if k in found else answers[k] for k in range(len(jobs))]

    year = jobs[0].as_of_year
    alive = set(registered_coop_years(ds, [year])["coop_id"].astype(str))  # whom score_dataset scores
    out: list[Answer | RequestInvalid | None] = [None] * len(jobs)
    scorable = []
    for k, job in enumerate(jobs):
        if alive & {c.cooperative.coop_id for c in job.cooperatives}:
            scorable.append(k)
        else:
            out[k] = RequestInvalid(
                [
                    (
                        ("as_of_year",),
                        f"no cooperative in the request is registered and not dissolved in {year}",
                        "nothing_to_score",
                    )
                ]
            )
    if scorable:  # the others' cooperatives are not alive in ``year``: score_dataset leaves them out
        result = score_dataset(ds, year, models, settings, capacity=None)
        rows = {r["coop_id"]: r for r in score_rows(result)}
        at, cols = _policy_inputs(result)
        for k in scorable:
            ids = [c.cooperative.coop_id for c in jobs[k].cooperatives]
            own, cap = _own_rows(rows, at, cols, ids, jobs[k], settings)
            warnings = list(ds.warnings) + [
                f"{c}: not scored, not registered or already dissolved in {year}" for c in ids if c not in rows
            ]
            warnings += records_warnings(jobs[k].cooperatives, year)
            if jobs[k].capacity == "population" and jobs[k].cutoff is None:
                warnings.append(
                    "no batch run yet (klinik score): JANGKAU by the threshold alone, without the clinic's capacity"
                )
            out[k] = Answer(as_of_year=year, scores=own, warnings=warnings, capacity=cap)
    return out


def _isolated(group: list[Job], models: LoadedModels, settings: Settings) -> list[Answer | RequestInvalid | Exception]:
    """score_group, so that an unexpected error fails only the request that causes it, not its neighbours."""
    try:
        return score_group(group, models, settings)
    except Exception as err:  # noqa: BLE001 -- handed to that request's caller, who answers 500
        if len(group) == 1:
            return [err]
        return [answer for job in group for answer in _isolated([job], models, settings)]


def score_jobs(jobs: list[Job], models: LoadedModels, settings: Settings) -> list[Answer | RequestInvalid | Exception]:
    """One pass: every job's own checks, then each group checked and scored together."""
    out: list[Answer | RequestInvalid | Exception | None] = [None] * len(jobs)
    ready = []
    for k, job in enumerate(jobs):
        try:
            prepare(job, settings)
            ready.append(k)
        except RequestInvalid as err:
            out[k] = err
    index = {id(jobs[k]): k for k in ready}
    for group in groups([jobs[k] for k in ready], settings.max_coops_per_request):
        for job, answer in zip(group, _isolated(group, models, settings)):
            out[index[id(job)]] = answer
    return out


class Batcher:
    """Queues jobs from concurrent requests and runs one pass at a time over all that are waiting."""

    def __init__(self, models: LoadedModels, settings: Settings):
        self.models, self.settings = models, settings
        self._queue: list[tuple[Job, asyncio.Future]] = []
        self._runner: asyncio.Task | None = None

    async def submit(self, job: Job) -> Answer | RequestInvalid:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((job, future))
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._drain())
        return await future

    def _take(self) -> list[tuple[Job, asyncio.Future]]:
        """The next pass's jobs, in arrival order, up to ``max_coops_per_request`` cooperatives. A job naming a
        cooperative or clinic case that a job already taken names waits for the next pass, first in line: the two
        cannot be checked together (the contract's keys), and a group of its own would pay a pass's fixed cost."""
        taken, n, ids, later = [], 0, set(), []
        while self._queue and (
            not taken or n + len(self._queue[0][0].cooperatives) <= self.settings.max_coops_per_request
        ):
            job, future = self._queue.pop(0)
            if future.cancelled():  # the client went away while waiting
                continue
            mine = job.keys = job.keys or ids_of(job.cooperatives)  # kept for the pass's checks
            if ids & mine:
                later.append((job, future))
                continue
            taken.append((job, future))
            n += len(job.cooperatives)
            ids |= mine
        self._queue[:0] = later
        return taken

    async def _gather(self, expected: int) -> None:
        """Right after a pass, the clients it answered are sending their next requests: wait a moment until as
        many requests wait as were in play at the end of that pass (without this, passes split the clients
        into cohorts that alternate: half of them, or one, per pass)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_SECONDS
        while len(self._queue) < expected and loop.time() < deadline:
            await asyncio.sleep(0.001)

    async def _drain(self) -> None:
        import anyio

        expected = 1  # the first request of a quiet spell is scored at once
        while True:
            await self._gather(expected)
            taken = self._take()
            if not taken:
                if not self._queue:  # nobody came back within the wait: the next request starts a new runner
                    return
                continue
            try:
                answers = await anyio.to_thread.run_sync(score_jobs, [j for j, _ in taken], self.models, self.settings)
            except Exception as err:  # a bug, not the request: every request of the pass gets a 500
                for _, future in taken:
                    if not future.done():
                        future.set_exception(err)
                continue
            expected = len(taken) + len(self._queue)  # the clients answered now, and those already waiting
            for (_, future), answer in zip(taken, answers):
                if future.done():
                    continue
                if isinstance(answer, Exception) and not isinstance(answer, RequestInvalid):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
