"""Scoring requests together: the requests that arrive while one pass runs are scored in the next pass, as one.

Why: checking a request against the contract and building its features costs a few hundred pandas operations
whatever the number of cooperatives, so one cooperative per request pays almost all of it. Scoring the waiting
requests together pays it once per pass. There is no timer: at low load a request is scored at once, alone;
under load the queue fills while a pass runs, and the next pass takes it (up to ``max_coops_per_request``
cooperatives). One pass at a time per worker, in a thread, so the server keeps accepting requests meanwhile.

Each request still gets exactly its own answer:
- requests are grouped only when they share ``as_of_year`` and no cooperative (or clinic case) id, so one
  request's rows never meet another's under a uniqueness rule; a request lacking a table that the contract
  wants non-empty is checked alone, so it gets the same refusal it would get alone;
- the contract's problems are attributed to the request whose rows broke the rule; the others are checked again
  without it and scored;
- the group is scored by ``serving.scoring.score_dataset`` with no outreach limit (probabilities, clinic and
  reasons of a cooperative do not depend on the others); then each request's action and outreach rank come from
  the same ``models.policy`` calls score_dataset makes, on that request's cooperatives with its own capacity.
  (A test checks this against ``klinik score`` on the whole world.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from data.contract import NON_EMPTY_TABLES
from serving.service_io import NESTED_TABLES, RequestInvalid, RequestTables, problem_text, request_tables, score_rows

if TYPE_CHECKING:
    from klinik.settings import Settings
    from serving.schemas import CoopRecords
    from serving.scoring import LoadedModels, ScoreResult


@dataclass
class Job:
    """One /score or /rank request on its way through a pass."""

    cooperatives: list[CoopRecords]
    as_of_year: int | None
    capacity: int | Literal["auto"]
    tables: RequestTables | None = None
    keys: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Answer:
    as_of_year: int
    scores: list[dict[str, Any]]
    warnings: list[str]
    capacity: int


def _latest_year(coops: list[CoopRecords]) -> int | None:
    years = [r.year for c in coops for t in ("financials", "staffing", "health") for r in getattr(c, t)]
    return max(years) if years else None


def prepare(job: Job, settings: Settings) -> None:
    """Checks of one request that need no other (size, as_of_year); its tables and its keys. RequestInvalid."""
    limit = settings.max_coops_per_request
    if len(job.cooperatives) > limit:
        raise RequestInvalid([(("cooperatives",), f"at most {limit} cooperatives per request "
                               f"(KLINIK_MAX_COOPS_PER_REQUEST), got {len(job.cooperatives)}: split the request",
                               "too_many")], error="too many cooperatives in one request")
    if job.as_of_year is None:  # a year in the future in the records is then reported where it is written
        job.as_of_year = _latest_year(job.cooperatives)
        if job.as_of_year is None:
            raise RequestInvalid([(("as_of_year",), "no financials, staffing or health rows to take the latest "
                                   "year from: send records or as_of_year", "missing")])
    elif job.as_of_year > settings.current_year:
        raise RequestInvalid([(("as_of_year",), f"{job.as_of_year} is in the future", "future_year")])
    job.tables = request_tables(job.cooperatives)
    job.keys = {("coop", c.cooperative.coop_id) for c in job.cooperatives}
    job.keys |= {("case", r.case_id) for c in job.cooperatives for r in c.clinic_cases}


def _alone(job: Job) -> bool:
    """A request missing a table the contract wants non-empty is checked alone (others would hide the gap)."""
    return any(len(job.tables.tables[t]) == 0 for t in NON_EMPTY_TABLES)


def groups(jobs: list[Job], max_coops: int) -> list[list[Job]]:
    """Jobs in arrival order, grouped by as_of_year with disjoint ids and at most ``max_coops`` cooperatives."""
    out: list[tuple[int, set, int, list[Job]]] = []  # (year, keys, n_coops, jobs)
    for job in jobs:
        n = len(job.cooperatives)
        home = None
        if not _alone(job):
            home = next((g for g in out if g[0] == job.as_of_year and g[3] and not _alone(g[3][0])
                         and g[2] + n <= max_coops and not (g[1] & job.keys)), None)
        if home is None:
            out.append((job.as_of_year, set(job.keys), n, [job]))
        else:
            i = out.index(home)
            out[i] = (home[0], home[1] | job.keys, home[2] + n, home[3] + [job])
    return [g[3] for g in out]


def _combined(jobs: list[Job]) -> tuple[RequestTables, dict[str, np.ndarray]]:
    """The jobs' tables stacked (row locations stay each job's own) and, per table row, the job it belongs to."""
    tables, where, owner = {}, {}, {}
    for name in ("cooperatives", *NESTED_TABLES):
        parts = [j.tables.tables[name] for j in jobs]
        tables[name] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        where[name] = [loc for j in jobs for loc in j.tables.where[name]]
        owner[name] = np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])
    return RequestTables(tables, where), owner


def _policy(result: ScoreResult, coop_ids: list[str], capacity: int | Literal["auto"], settings: Settings):
    """One request's rows of a group's result, with its own action and outreach rank (score_dataset's calls)."""
    from models.policy import decide, outreach_capacity, outreach_rank

    mine = result.scores["coop_id"].isin(coop_ids).to_numpy()
    scores = result.scores.loc[mine].copy()
    evidence = result.evidence.set_index("coop_id").loc[scores["coop_id"]]
    ids = scores["coop_id"].to_numpy()
    cap = outreach_capacity(len(ids), settings) if capacity == "auto" else capacity
    action = decide(scores["status"], scores["p_sick_next"], scores["p_recover"], scores["clinic"],
                    evidence["rat_missed_years"].to_numpy(dtype=float), evidence["years_sick"].to_numpy(dtype=float),
                    settings, capacity=cap, tie_break=ids)
    scores["action"] = pd.array(action, dtype="str")
    scores["rank"] = outreach_rank(scores["status"], scores["p_sick_next"], scores["p_recover"], action,
                                   tie_break=ids)
    scores = scores.sort_values("rank", kind="stable").reset_index(drop=True)
    return scores, cap


def score_group(jobs: list[Job], models: LoadedModels, settings: Settings) -> list[Answer | RequestInvalid]:
    """Check and score jobs together (see the module's notes); one Answer or RequestInvalid per job."""
    from dataclasses import replace

    from data.validation import DatasetInvalid, validate_tables
    from serving.scoring import registered_coops, score_dataset

    req, owner = _combined(jobs)
    try:
        ds = validate_tables(req.tables, source="request", require_health=False)
    except DatasetInvalid as err:
        found: dict[int, list] = {}
        for p in err.problems:
            attributable = p.row is not None and p.table in owner
            if not attributable and len(jobs) > 1:  # a problem of the whole group: each request on its own
                return [a for j in jobs for a in score_group([j], models, settings)]
            k = int(owner[p.table][p.row]) if attributable else 0
            column = p.column if p.column and "," not in p.column else None  # a key of several columns: the row
            found.setdefault(k, []).append((req.loc(p.table, p.row, column), problem_text(p, req), "contract"))
        rest = [j for k, j in enumerate(jobs) if k not in found]
        answers = dict(zip([k for k in range(len(jobs)) if k not in found],
                           score_group(rest, models, settings) if rest else []))
        return [RequestInvalid(found[k]) if k in found else answers[k] for k in range(len(jobs))]

    year = jobs[0].as_of_year
    alive = set(registered_coops(ds, year)["coop_id"].astype(str))
    out: list[Answer | RequestInvalid | None] = [None] * len(jobs)
    scorable = []
    for k, job in enumerate(jobs):
        if alive & {c.cooperative.coop_id for c in job.cooperatives}:
            scorable.append(k)
        else:
            out[k] = RequestInvalid([(("as_of_year",), f"no cooperative in the request is registered and not "
                                      f"dissolved in {year}", "nothing_to_score")])
    if scorable:  # the others' cooperatives are not alive in ``year``: score_dataset leaves them out
        result = score_dataset(ds, year, models, settings, capacity=None)
        for k in scorable:
            job = jobs[k]
            ids = [c.cooperative.coop_id for c in job.cooperatives]
            scores, cap = _policy(result, ids, job.capacity, settings)
            part = replace(result, scores=scores, reasons=result.reasons.loc[result.reasons["coop_id"].isin(ids)])
            scored = set(scores["coop_id"])
            warnings = list(ds.warnings) + [f"{c}: not scored, not registered or already dissolved in {year}"
                                            for c in ids if c not in scored]
            out[k] = Answer(as_of_year=year, scores=score_rows(part), warnings=warnings, capacity=cap)
    return out


def score_jobs(jobs: list[Job], models: LoadedModels, settings: Settings) -> list[Answer | RequestInvalid]:
    """One pass: every job's own checks, then each group checked and scored together."""
    out: list[Answer | RequestInvalid | None] = [None] * len(jobs)
    ready = []
    for k, job in enumerate(jobs):
        try:
            prepare(job, settings)
            ready.append(k)
        except RequestInvalid as err:
            out[k] = err
    index = {id(jobs[k]): k for k in ready}
    for group in groups([jobs[k] for k in ready], settings.max_coops_per_request):
        for job, answer in zip(group, score_group(group, models, settings)):
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
        taken, n = [], 0
        while self._queue and (not taken or n + len(self._queue[0][0].cooperatives)
                               <= self.settings.max_coops_per_request):
            job, future = self._queue.pop(0)
            if future.cancelled():  # the client went away while waiting
                continue
            taken.append((job, future))
            n += len(job.cooperatives)
        return taken

    async def _drain(self) -> None:
        import anyio

        while self._queue:
            taken = self._take()
            if not taken:
                continue
            try:
                answers = await anyio.to_thread.run_sync(score_jobs, [j for j, _ in taken], self.models,
                                                         self.settings)
            except Exception as err:  # a bug, not the request: every request of the pass gets a 500
                for _, future in taken:
                    if not future.done():
                        future.set_exception(err)
                continue
            for (_, future), answer in zip(taken, answers):
                if not future.done():
                    future.set_result(answer)
