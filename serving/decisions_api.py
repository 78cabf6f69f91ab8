"""The JSON API of the decision record, mounted beside the BentoML routes of serving/service.py.

``POST /decisions`` records an officer's decision on the advice of the latest batch output (or of the output
for ``as_of_year``: ``work_dir/scores/<year>``); the advice is looked up here, never taken from the request.
``GET /decisions?coop_id=...`` (optionally ``&as_of_year=``) gives the cooperative's whole history and the
decision in force per year. Both need the service's API key (serving/guard.py). A bad request is answered 400
naming the field, in the service's one error shape; a record that cannot be used (on another schema, its database
stopped, damaged or gone while the server runs) 503 in the same shape, with the reason in one line.

A plain Starlette app (BentoML routes its own APIs by POST only): BentoML mounts it so that it answers only its
own path, leaving every other path to the service and to other mounted apps.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from klinik.serving.decisions import NOTE_MAX_CHARS, DecisionInvalid
from klinik.serving.decisions_io import AdviceBook, ImportRefused, advice_book
from klinik.serving.records import (
    NAME_MAX_CHARS,
    UNAVAILABLE,
    Decision,
    NewDecision,
    Records,
    RecordsError,
    failure_line,
    open_records,
)
from klinik.serving.service_io import RequestInvalid, answer_body, error_body
from klinik.settings import Settings, get_settings

log = logging.getLogger("klinik.decisions")


class DecisionRequest(BaseModel):
    """One decision, as the API takes it (the advice it answers is looked up from the batch output)."""

    # strict: a year comes as a JSON number, never as text or true (as the scoring requests take their numbers)
    model_config = ConfigDict(extra="forbid", strict=True)

    coop_id: str = Field(min_length=1, max_length=64)
    as_of_year: int | None = Field(default=None, description="the advice's fiscal year; default the latest output")
    decision: str = Field(min_length=1, max_length=100, description="a code or label from the action's list")
    note: str | None = Field(default=None, max_length=NOTE_MAX_CHARS, description="the reason; some decisions need one")
    officer: str = Field(min_length=1, max_length=NAME_MAX_CHARS, description="the staff account deciding")


def entry_json(d: Decision) -> dict[str, Any]:
    out = dataclasses.asdict(d)
    out["recorded_at"] = d.recorded_at.isoformat()
    out["label"] = d.label
    return out


def unavailable_text(err: BaseException) -> str:
    """The 503's reason, in one line: a RecordsError says what to put right; a failing database is said so, its
    driver's words (which may name hosts and files) going to the server's log only."""
    if isinstance(err, RecordsError):
        return str(err).splitlines()[0]
    return "the decision record is unavailable: its database does not answer or cannot be read; try again later"


def _bad(field: str, message: str, kind: str = "value_error") -> JSONResponse:
    return JSONResponse(error_body(RequestInvalid([((field,), message, kind)], error=message)), status_code=400)


class AdviceSource:
    """The advice of the batch outputs under the settings' work folder, re-read when a scores file changes."""

    def __init__(self, settings: Settings):
        latest = settings.lookup_scores_path or settings.work_dir / "scores" / "latest" / "scores.parquet"
        self.latest = Path(latest).parent
        self.by_year = Path(settings.work_dir) / "scores"
        self._books: dict[Path, tuple[tuple[int, int], AdviceBook]] = {}
        self._lock = threading.Lock()

    def _book(self, folder: Path) -> AdviceBook | None:
        folder = folder.resolve()
        scores = folder / "scores.parquet"
        if not scores.is_file():
            return None
        st = scores.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._books.get(folder)
            if cached is None or cached[0] != stamp:
                cached = (stamp, advice_book(folder))
                self._books[folder] = cached
            return cached[1]

    def book(self, as_of_year: int | None) -> AdviceBook | None:
        """The batch output for ``as_of_year`` (None: the latest), or None when there is none."""
        latest = self._book(self.latest)
        if as_of_year is None or (latest is not None and latest.as_of_year == as_of_year):
            return latest
        book = self._book(self.by_year / str(as_of_year))
        return book if book is not None and book.as_of_year == as_of_year else None


def decisions_app(settings: Settings | None = None) -> Starlette:
    """The ``/decisions`` routes; the record is opened at the first request (each worker has its own)."""
    settings = settings or get_settings()
    advice = AdviceSource(settings)
    opened: dict[str, Records] = {}
    lock = threading.Lock()

    def records() -> Records:
        with lock:
            if "records" not in opened:
                opened["records"] = open_records(settings)
            return opened["records"]

    def record(body: DecisionRequest) -> JSONResponse:
        book = advice.book(body.as_of_year)
        if book is None:
            which = "no batch output" if body.as_of_year is None else f"no batch output for {body.as_of_year}"
            return _bad("as_of_year", f"{which} to decide on: run `klinik score` first", "no_advice")
        found = book.advice.get(body.coop_id)
        if found is None:
            return _bad("coop_id", f"{body.coop_id!r} is not in the batch output for {book.as_of_year}", "not_found")
        r = records()
        user = r.find_user(body.officer)
        if user is None or not user.active:
            return _bad("officer", "no active staff account of that name", "unknown_officer")
        try:
            entry, created = r.record_decision(NewDecision(found, body.decision, body.note, user.name), source="api")
        except DecisionInvalid as err:
            return _bad(err.field, err.message, "not_allowed")
        return JSONResponse({"decision": entry_json(entry), "recorded": created}, status_code=201 if created else 200)

    def history(coop_id: str, as_of_year: int | None) -> JSONResponse:
        entries = records().decisions_for(coop_id, as_of_year)
        in_force = {}
        for d in entries:  # oldest first: the last one per year stays
            in_force[str(d.as_of_year)] = entry_json(d)
        return JSONResponse({"coop_id": coop_id, "decisions": [entry_json(d) for d in entries], "in_force": in_force})

    async def endpoint(request: Request) -> JSONResponse:
        try:
            if request.method == "GET":
                query = request.query_params
                coop_id = (query.get("coop_id") or "").strip()
                if not coop_id:
                    return _bad("coop_id", "give ?coop_id=... (the cooperative whose decisions to list)", "missing")
                year = query.get("as_of_year")
                if year is not None and not year.strip().isdigit():
                    return _bad("as_of_year", "as_of_year is a fiscal year, e.g. 2024", "int_parsing")
                return await run_in_threadpool(history, coop_id, int(year) if year else None)
            try:
                body = DecisionRequest.model_validate_json(await request.body())
            except ValidationError as err:
                problems = [(tuple(e["loc"]) or ("body",), e["msg"], e["type"]) for e in err.errors()]
                return JSONResponse(error_body(RequestInvalid(problems, error="invalid decision")), status_code=400)
            return await run_in_threadpool(record, body)
        except ImportRefused as err:
            return JSONResponse(answer_body(str(err).splitlines()[0], []), status_code=503)
        except UNAVAILABLE as err:  # the database failed (or cannot be opened): the record is unavailable
            log.error("decision record unavailable on %s /decisions: %s", request.method, failure_line(err))
            return JSONResponse(answer_body(unavailable_text(err), []), status_code=503)

    return Starlette(routes=[Route("/decisions", endpoint, methods=["GET", "POST"])])
