"""What the HTTP service does around the scoring core: request -> contract tables, problems -> field paths,
ScoreResult -> response rows, and the latest batch output for look-ups.

Kept apart from serving/service.py so the service file reads as the list of routes, and so this can be tested
without a server.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from klinik.data.contract import COLUMNS
from klinik.serving.schemas import NESTED_TABLES

if TYPE_CHECKING:
    from klinik.models.policy import OutreachCutoff
    from klinik.serving.schemas import CoopRecords
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings


MAX_DETAIL = 50  # problems a 400 lists one by one; beyond them it counts the problems by field and rule


@dataclass
class RequestInvalid(Exception):
    """Everything wrong with one request, each as (loc, message, type) or (loc, message, type, rule); answered with
    HTTP 400. ``rule`` (default: the type) is what the problem breaks, without the value: the answer counts by it.
    Only the first MAX_DETAIL problems are shown, so only they need a message."""

    problems: list[tuple]
    error: str = "the request breaks the data contract"

    def __str__(self) -> str:  # never holds the values sent, only where and which rule
        return f"{self.error} ({len(self.problems)} problem(s))"


def field_path(loc: tuple) -> str:
    """("cooperatives", 0, "financials", 2, "cash") -> "cooperatives[0].financials[2].cash"; None for any row."""
    out = ""
    for part in loc:
        if part is None or isinstance(part, int):  # None: any row ("cooperatives[].financials[].cash")
            out += f"[{'' if part is None else part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def bounded_answer(error: str, problems: list[tuple]) -> dict[str, Any]:
    """A 400 of any size in a few kilobytes: the first MAX_DETAIL problems with their fields, then, when there are
    more, every problem counted by field (the path without row numbers) and rule (see ``answer_body``)."""
    detail = [problem_entry(loc, msg, kind) for loc, msg, kind, *_ in problems[:MAX_DETAIL]]
    return answer_body(error, detail, problem_counts(problems) if len(problems) > MAX_DETAIL else None)


def problem_entry(loc: tuple | list, msg: str, kind: str) -> dict[str, Any]:
    """One problem of an error answer: where (``loc`` and the same as a ``field`` path), what, which kind."""
    return {"loc": list(loc), "field": field_path(tuple(loc)), "msg": msg, "type": kind}


def answer_body(error: str, detail: list[dict], counts: list[tuple[str, str, int]] | None = None) -> dict[str, Any]:
    """THE shape of every error answer of the service (serving/errors.py): ``error`` in words, ``detail`` the
    problems one by one (``problem_entry``; empty for a refusal of the whole request), and for a request with more
    problems than it lists, ``counts``: every problem by field and rule, most frequent first."""
    if not counts:
        return {"error": error, "detail": detail}
    return {
        "error": f"{error}: {sum(n for *_, n in counts)} problems, the first {len(detail)} listed, all counted by "
        "field and rule",
        "detail": detail,
        "counts": [{"field": f, "rule": r, "count": n} for f, r, n in counts],
    }


def problem_counts(problems: list[tuple]) -> list[tuple[str, str, int]]:
    """(field without row numbers, rule, how many), most frequent first, of (loc, message, type[, rule]) tuples."""
    counts = Counter(
        (tuple([None if type(part) is int else part for part in p[0]]), p[3] if len(p) > 3 else p[2]) for p in problems
    )  # (written for speed: a hostile request brings hundreds of thousands)
    return [(field_path(where), rule, n) for (where, rule), n in counts.most_common()]


def error_body(err: RequestInvalid) -> dict[str, Any]:
    """The 400 answer for ``err`` (see ``bounded_answer``)."""
    return bounded_answer(err.error, err.problems)


@dataclass
class RequestTables:
    """The request as contract tables, and for each table row the request location it came from."""

    tables: dict[str, pd.DataFrame]
    where: dict[str, list[tuple]] = field(default_factory=dict)

    def loc(self, table: str, row: int | None, column: str | None) -> tuple:
        """Where a problem of ``table`` row ``row`` (0-based, this table's order) lies in the request."""
        if row is None or table not in self.where or not 0 <= row < len(self.where[table]):
            base: tuple = ("cooperatives",)
        else:
            base = self.where[table][row]
        return base + ((column,) if column else ())


def flatten(cooperatives: list[CoopRecords]) -> tuple[dict[str, list[dict]], dict[str, list[tuple]]]:
    """Nested cooperatives -> the contract's tables as lists of rows (coop_id filled in from the parent), with
    each row's place in the request. Values stay as JSON gives them (dates as ISO text): data.validation reads
    them as it reads a file's cells. A nested row naming another cooperative is a problem, reported by path.
    """
    rows: dict[str, list[dict]] = {t: [] for t in ("cooperatives", *NESTED_TABLES)}
    where: dict[str, list[tuple]] = {t: [] for t in rows}
    problems: list[tuple[tuple, str, str]] = []
    for i, entry in enumerate(cooperatives):
        dumped = entry.model_dump(mode="json")  # one call per cooperative: pydantic's cost is per call
        coop = dumped["cooperative"]
        rows["cooperatives"].append(coop)
        where["cooperatives"].append(("cooperatives", i, "cooperative"))
        for table in NESTED_TABLES:
            for j, row in enumerate(dumped[table]):
                if row.get("coop_id") not in (None, coop["coop_id"]):
                    problems.append(
                        (
                            ("cooperatives", i, table, j, "coop_id"),
                            f"coop_id must be the cooperative's own ({coop['coop_id']!r}) or left out",
                            "coop_id_mismatch",
                        )
                    )
                row["coop_id"] = coop["coop_id"]
                rows[table].append(row)
                where[table].append(("cooperatives", i, table, j))
    if problems:
        raise RequestInvalid(problems)
    return rows, where


def tables_from_rows(rows: dict[str, list[dict]], where: dict[str, list[tuple]]) -> RequestTables:
    """One raw table (object columns, the contract's column order) per contract table."""
    return RequestTables({t: pd.DataFrame(r, columns=list(COLUMNS[t]), dtype=object) for t, r in rows.items()}, where)


def request_tables(cooperatives: list[CoopRecords]) -> RequestTables:
    """A request's cooperatives as raw contract tables (see ``flatten``)."""
    return tables_from_rows(*flatten(cooperatives))


def problem_text(p, req: RequestTables) -> str:
    """A data.problems Problem as a message: the rule (its "row N" told as request paths), the value sent,
    and the table when no row is named."""
    rule = re.sub(r"\brow (\d+)\b", lambda m: field_path(req.loc(p.table, int(m[1]), None)), p.rule)
    text = rule if p.row is not None else f"{p.table}: {rule}"
    return text if p.value is None else f"{text} (got {p.value})"


def _plain(value: Any) -> Any:
    """numpy / pandas scalars to JSON-ready Python: NaN, NA and NaT to None, timestamps to ISO dates."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value.item() if hasattr(value, "item") else value


def score_rows(result: ScoreResult) -> list[dict[str, Any]]:
    """The Scores rows (in rank order) with structured reasons and the reasons in words."""
    from klinik.models.reasons import REASON_FIELDS

    by_coop: dict[str, list[dict]] = {}
    for rec in result.reasons.sort_values(["coop_id", "position"], kind="stable").to_dict("records"):
        by_coop.setdefault(str(rec["coop_id"]), []).append({k: _plain(rec[k]) for k in REASON_FIELDS})
    certainty = result.evidence.set_index("coop_id")[["certainty", "certainty_en"]].to_dict("index")
    out = []
    for rec in result.scores.to_dict("records"):
        row = {k: _plain(v) for k, v in rec.items()}
        row["reasons_text"] = row.pop("reasons") or ""
        row["reasons"] = by_coop.get(row["coop_id"], [])
        said = certainty.get(row["coop_id"], {})
        row["certainty"] = said.get("certainty") or None
        row["certainty_en"] = said.get("certainty_en") or None
        out.append(row)
    return out


def batch_run(manifest_path: Path) -> dict[str, Any]:
    """Which ``klinik score`` run a batch output comes from: its year, when it finished, its manifest's sha256
    (what /lookup says instead of a path on the server). Nones when the output has no readable manifest."""
    try:
        data = manifest_path.read_bytes()
        manifest = json.loads(data)
    except (OSError, ValueError):
        return {"as_of_year": None, "finished_at": None, "manifest_sha256": None}
    return {
        "as_of_year": manifest.get("as_of_year"),
        "finished_at": manifest.get("finished_at"),
        "manifest_sha256": hashlib.sha256(data).hexdigest(),
    }


class LatestScores:
    """The latest batch output (``klinik score``), re-read when the file changes: its rows for /lookup, and where
    its outreach list ended for /score (the population's cut-off; models.policy.OutreachCutoff)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = Path(settings.lookup_scores_path or settings.work_dir / "scores" / "latest" / "scores.parquet")
        self._stamp: tuple[int, int] | None = None
        self._frame = pd.DataFrame()
        self._cutoff: OutreachCutoff | None = None
        self.run: dict[str, Any] = batch_run(self.path.with_name("manifest.json"))

    def _load(self) -> None:
        from klinik.models.policy import outreach_cutoff
        from klinik.serving.outputs import read_scores

        st = os.stat(self.path)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            frame = read_scores(self.path)
            frame.index = frame["coop_id"].astype(str)
            self._frame = frame.loc[~frame.index.duplicated()]
            self._cutoff = outreach_cutoff(self._frame, self.settings)
            self.run = batch_run(self.path.with_name("manifest.json"))  # the batch job writes both together
            self._stamp = stamp

    def cutoff(self) -> OutreachCutoff | None:
        """Where the latest batch run's outreach list ended; None when there is no batch output (yet)."""
        try:
            self._load()
        except FileNotFoundError:
            return None
        return self._cutoff

    def find(self, coop_ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """(rows found, in the order asked; ids not found). FileNotFoundError when there is no batch output."""
        self._load()
        known = [c for c in coop_ids if c in self._frame.index]
        rows = self._frame.loc[known].to_dict("records") if known else []
        return [{k: _plain(v) for k, v in r.items()} for r in rows], [c for c in coop_ids if c not in known]


def request_problems(cooperatives: list[CoopRecords], as_of_year: int, settings: Settings) -> list[tuple]:
    """What is wrong with a request beyond its types, before any scoring: a kecamatan the office does not have
    (``Settings.districts``; the nearest name suggested), and an ``as_of_year`` before or after every record sent
    (as ``klinik score`` refuses an --as-of outside its dataset: the year's reports would all count as missing).
    Each problem as (loc, message, type)."""
    problems = []
    known = settings.districts
    if known:
        for i, entry in enumerate(cooperatives):
            district = entry.cooperative.district
            if district not in known:
                near = difflib.get_close_matches(district, known, n=1, cutoff=0.6)
                hint = f"did you mean {near[0]!r}? " if near else ""
                problems.append(
                    (
                        ("cooperatives", i, "cooperative", "district"),
                        f"{district!r} is not a kecamatan of this office: {hint}known: {', '.join(known)} "
                        f"(KLINIK_DISTRICTS)",
                        "unknown_district",
                    )
                )
    years = [r.year for c in cooperatives for t in ("financials", "staffing", "health") for r in getattr(c, t)]
    if years and as_of_year > max(years):
        problems.append(
            (
                ("as_of_year",),
                f"{as_of_year} is later than every record sent (the latest year is {max(years)}): its statements "
                f"would count as not filed; send as_of_year {max(years)}, or the {as_of_year} records",
                "after_records",
            )
        )
    if years and as_of_year < min(years):
        problems.append(
            (
                ("as_of_year",),
                f"{as_of_year} is before every record sent (the earliest year is {min(years)}): nothing would be "
                f"known of that year; send as_of_year {min(years)} or later, or the records of {as_of_year}",
                "before_records",
            )
        )
    return problems


def records_warnings(cooperatives: list[CoopRecords], as_of_year: int) -> list[str]:
    """A cooperative whose records all lie after ``as_of_year`` is scored on none of them: say so."""
    out = []
    for entry in cooperatives:
        years = [r.year for t in ("financials", "staffing", "health") for r in getattr(entry, t)]
        if years and min(years) > as_of_year:
            out.append(
                f"{entry.cooperative.coop_id}: its records start in {min(years)}, after as_of_year {as_of_year}: "
                f"scored without them"
            )
    return out


def payload_from_dataset(ds, coop_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The ``cooperatives`` of a /score request from a loaded Dataset (for clients, the benchmark and tests).

    The inverse of ``request_tables``: each cooperative with its own rows nested, coop_id left out of them.
    """
    coops = ds.cooperatives
    if coop_ids is not None:
        coops = coops.set_index("coop_id", drop=False).loc[list(coop_ids)]
    wanted = set(coops["coop_id"].astype(str))
    nested: dict[str, dict[str, list[dict]]] = {c: {t: [] for t in NESTED_TABLES} for c in wanted}
    for table in NESTED_TABLES:
        frame = getattr(ds, table)
        frame = frame.loc[frame["coop_id"].astype(str).isin(wanted)]
        for rec in frame.to_dict("records"):
            cid = str(rec.pop("coop_id"))
            nested[cid][table].append({k: _plain(v) for k, v in rec.items() if k in COLUMNS[table]})
    out = []
    for rec in coops.to_dict("records"):
        coop = {k: _plain(rec[k]) for k in COLUMNS["cooperatives"]}
        out.append({"cooperative": coop, **nested[str(coop["coop_id"])]})
    return out
