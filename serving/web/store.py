"""What the staff page shows, read once from the batch job's latest output and kept in memory, indexed.

The latest output is the folder of ``Settings.lookup_scores_path`` (default ``work/scores/latest``, the link the
cron line and ``klinik demo`` keep pointing at the newest run). From it: scores.parquet (the contract's Scores
table), reasons.parquet (structured reasons), evidence.parquet (names, kecamatan, type and the facts behind each
action) and manifest.json (when, with which models, on which data). Last year's run is the folder beside it whose
manifest says ``as_of_year - 1``.

Everything a request needs is built here once per batch output: the search index, one position per coop_id, the
reasons and last year's rows by coop_id, and the four lists (``serving.excel.list_frames``, so the page and the
workbook hold the same rows). ``Latest.get()`` checks the manifest's time stamp on each call (one ``stat``) and
reads a newer output when the batch job has swapped one in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

log = logging.getLogger("klinik.web")

SEARCH_LIMIT = 50


def output_folder(settings: Settings) -> Path:
    """The folder of the latest batch output (where /lookup reads its scores too)."""
    path = Path(settings.lookup_scores_path or settings.work_dir / "scores" / "latest" / "scores.parquet")
    return path.parent


def _normalise(texts: pd.Series) -> pd.Series:
    """Lower case, every run of characters other than letters and digits made one space."""
    return texts.astype("str").str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True).str.strip()


def normalise_query(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


class RowsByKey:
    """A frame grouped by one key column, each key's rows found in one dictionary look-up (no scan per request).

    Grouping factorises the key and orders the rows by its codes (a stable integer sort: seconds for the 10
    million meetings of a national dataset, where sorting the text itself takes minutes); within a key the rows
    keep their order in ``frame``, and ``rows`` sorts that handful by ``order`` when asked."""

    def __init__(self, frame: pd.DataFrame, key: str = "coop_id", order: list[str] | None = None):
        self.order = order or []
        codes, uniques = pd.factorize(frame[key].astype("str"))
        by_code = np.argsort(codes, kind="stable")
        self.frame = frame.iloc[by_code].reset_index(drop=True)
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        self.stops = np.cumsum(counts)
        self.starts = self.stops - counts
        self.keys = dict(zip(np.asarray(uniques, dtype=object).tolist(), range(len(uniques))))

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def rows(self, key: str) -> pd.DataFrame:
        i = self.keys.get(key)
        if i is None:
            return self.frame.iloc[0:0]
        rows = self.frame.iloc[int(self.starts[i]) : int(self.stops[i])]
        return rows.sort_values(self.order, kind="stable") if self.order and len(rows) > 1 else rows

    def records(self, key: str) -> list[dict]:
        return self.rows(key).to_dict("records")


class SearchIndex:
    """Forgiving search over names and ids: case, spaces and punctuation ignored, partial names, short ids.

    ``kop-120``, ``KOP 120`` and ``120`` find KOP-000120 (the id's letters, if given, must begin the id's own
    letters; the number is compared as a number, so leading zeros do not matter); ``artha`` finds every name
    holding it, ``arthaprima`` too (each name is also searched with its spaces removed). Every word of the query
    must be found. Ids found by number come first, then names with a word beginning with the query's first word,
    then the rest, each in outreach order (rank).
    """

    def __init__(self, ids: pd.Series, names: pd.Series, districts: pd.Series, types: pd.Series, rank: np.ndarray):
        norm = _normalise(names)
        id_norm = _normalise(ids)
        self.haystack = pa.array((norm + " " + norm.str.replace(" ", "", regex=False) + " " + id_norm).tolist())
        self.word_starts = pa.array((" " + norm).tolist())
        id_text = ids.astype("str")
        self.id_letters = id_text.str.lower().str.extract(r"^([a-z]*)", expand=False).fillna("").to_numpy(dtype=str)
        digits = id_text.str.extract(r"(\d+)\D*$", expand=False)
        self.id_number = pd.to_numeric(digits, errors="coerce").fillna(-1).astype("int64").to_numpy()
        self.districts = districts.astype("str").to_numpy()
        self.types = types.astype("str").to_numpy()
        self.rank = np.asarray(rank)

    def find(self, query: str, district: str = "", coop_type: str = "", limit: int = SEARCH_LIMIT):
        """(positions of the first ``limit`` hits, number of hits). An empty query lists by the filters alone."""
        n = len(self.rank)
        keep = np.ones(n, dtype=bool)
        if district:
            keep &= self.districts == district
        if coop_type:
            keep &= self.types == coop_type
        q = normalise_query(query)
        by_id = np.zeros(n, dtype=bool)
        starts = np.zeros(n, dtype=bool)
        if q:
            short = re.fullmatch(r"([a-z]*) ?0*(\d+)", q)
            if short:
                letters, number = short.group(1), int(short.group(2))
                by_id = self.id_number == number
                if letters:
                    by_id &= np.char.startswith(self.id_letters, letters)
            words = q.split()
            by_name = np.ones(n, dtype=bool)
            for word in words:
                by_name &= pc.match_substring(self.haystack, word).to_numpy(zero_copy_only=False)
            starts = pc.match_substring(self.word_starts, " " + words[0]).to_numpy(zero_copy_only=False)
            keep &= by_id | by_name
        hits = np.flatnonzero(keep)
        order = np.lexsort((self.rank[hits], ~starts[hits], ~by_id[hits]))
        return hits[order][:limit], len(hits)


@dataclass
class Output:
    """One batch output, read and indexed (see the module's notes)."""

    folder: Path
    manifest: dict
    scores: pd.DataFrame  # the Scores table, status codes of the current contract (outputs.read_scores), rank order
    reasons: RowsByKey
    evidence: pd.DataFrame  # same order as scores
    position: dict[str, int]  # coop_id -> row of scores and evidence
    index: SearchIndex
    lists: dict[str, pd.DataFrame]
    previous: pd.DataFrame | None = None  # last year's run, indexed by coop_id
    previous_folder: Path | None = None
    has_evidence: bool = True
    manifest_sha256: str = ""  # the run's audit record, named by every decision taken on its advice
    stamp: tuple = field(default=(), repr=False)

    @property
    def as_of_year(self) -> int:
        return int(self.manifest.get("as_of_year") or self.scores["as_of_year"].iloc[0])

    @functools.cached_property
    def districts(self) -> list[str]:
        return sorted(self.evidence["district"].dropna().astype(str).unique().tolist())

    @functools.cached_property
    def types(self) -> list[str]:
        return sorted(self.evidence["coop_type"].dropna().astype(str).unique().tolist())

    def row(self, coop_id: str) -> tuple[dict, dict] | None:
        """(Scores row, evidence row) of ``coop_id``; None when this output does not hold it."""
        i = self.position.get(coop_id)
        if i is None:
            return None
        return self.scores.iloc[i].to_dict(), self.evidence.iloc[i].to_dict()

    def __contains__(self, coop_id: str) -> bool:
        return coop_id in self.position

    def lists_in(self, lang: str) -> dict[str, pd.DataFrame]:
        """The lists with their cells (codes in words, reasons) in ``lang``: Indonesian as read, English made when
        first asked for (the headers stay the workbook's in both)."""
        if lang == "id":
            return self.lists
        return self._lists_en

    @functools.cached_property
    def _lists_en(self) -> dict[str, pd.DataFrame]:
        from klinik.serving.excel import list_frames

        return list_frames(self.result(), lang="en")

    @functools.cached_property
    def columns(self) -> dict[str, np.ndarray]:
        """Every column of scores and evidence as an array (a search result row reads a few values each)."""
        cols = {c: self.evidence[c].to_numpy() for c in self.evidence.columns}
        cols.update({c: self.scores[c].to_numpy() for c in self.scores.columns})
        return cols

    def result(self, coop_ids=None) -> ScoreResult:
        """The output as the scoring core's ScoreResult (what serving.excel writes), for ``coop_ids`` or all."""
        from klinik.serving.scoring import ScoreResult

        scores, evidence, reasons = self.scores, self.evidence, self.reasons.frame
        if coop_ids is not None:
            wanted = scores["coop_id"].isin(list(coop_ids)).to_numpy()
            scores, evidence = scores.loc[wanted], evidence.loc[wanted]
            reasons = reasons.loc[reasons["coop_id"].isin(scores["coop_id"])]
        capacity = self.manifest.get("counts", {}).get("outreach_capacity")
        return ScoreResult(
            scores=scores.reset_index(drop=True),
            reasons=reasons.reset_index(drop=True),
            evidence=evidence.reset_index(drop=True),
            capacity=capacity,
            as_of_year=self.as_of_year,
            model_version=str(self.manifest.get("models", {}).get("model_version", "")),
            source=str(self.manifest.get("input", {}).get("dir") or ""),
        )


def _stamp(folder: Path) -> tuple:
    st = os.stat(folder / "manifest.json")
    return (str(folder.resolve()), st.st_mtime_ns, st.st_size)


def _evidence(folder: Path, scores: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """evidence.parquet in the order of scores (a column an older output lacks left empty); an output written
    before it existed gets ids in its place."""
    from klinik.serving.scoring import EVIDENCE_COLUMNS

    path = folder / "evidence.parquet"
    if path.is_file():
        ev = pd.read_parquet(path)
        ev = ev.reindex(columns=[*EVIDENCE_COLUMNS, *(c for c in ev.columns if c not in EVIDENCE_COLUMNS)])
        ev = ev.set_index("coop_id", drop=False)
        return ev.reindex(scores["coop_id"].astype(str)).reset_index(drop=True), True
    ev = pd.DataFrame({c: np.nan for c in EVIDENCE_COLUMNS}, index=range(len(scores)))
    words = ("coop_id", "name", "district", "coop_type", "health_category", "reasons_en")
    ev = ev.astype({c: object for c in (*words, "clinic_basis", "clinic_basis_en", "certainty", "certainty_en")})
    ev["coop_id"] = ev["name"] = scores["coop_id"].astype(str).to_numpy()
    return ev, False


def _previous(folder: Path, year: int) -> tuple[pd.DataFrame | None, Path | None]:
    """The scores of last year's run: the folder beside ``folder`` whose manifest says ``year``; newest first."""
    from klinik.serving.outputs import read_scores

    here = folder.resolve()
    found = []
    for other in here.parent.iterdir() if here.parent.is_dir() else []:
        if other == here or other.name.startswith(".") or other.is_symlink() or not other.is_dir():
            continue
        try:
            manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("as_of_year") == year and (other / "scores.parquet").is_file():
            found.append(other)
    if not found:
        return None, None
    newest = max(found, key=lambda p: (p / "manifest.json").stat().st_mtime_ns)
    prev = read_scores(newest / "scores.parquet")
    return prev.set_index(prev["coop_id"].astype(str)), newest


def read_output(folder: Path) -> Output:
    """Read and index the batch output in ``folder``; FileNotFoundError when there is none."""
    from klinik.serving.excel import list_frames
    from klinik.serving.outputs import read_scores

    folder = Path(folder)
    stamp = _stamp(folder)
    manifest_bytes = (folder / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes.decode("utf-8"))
    scores = read_scores(folder / "scores.parquet").reset_index(drop=True)
    reasons_path = folder / "reasons.parquet"
    reasons = pd.read_parquet(reasons_path) if reasons_path.is_file() else pd.DataFrame(columns=["coop_id", "position"])
    evidence, has_evidence = _evidence(folder, scores)
    ids = scores["coop_id"].astype(str)
    position = dict(zip(ids.tolist(), range(len(ids))))
    index = SearchIndex(ids, evidence["name"], evidence["district"], evidence["coop_type"], scores["rank"].to_numpy())
    out = Output(
        folder=folder,
        manifest=manifest,
        scores=scores,
        reasons=RowsByKey(reasons, order=["position"]),
        evidence=evidence,
        position=position,
        index=index,
        lists={},
        has_evidence=has_evidence,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        stamp=stamp,
    )
    out.lists = list_frames(out.result())
    out.previous, out.previous_folder = _previous(folder, out.as_of_year - 1)
    return out


def out_of_the_collectors_way() -> None:
    """What was just read lives until the next batch output: leave it out of the cyclic garbage collector's full
    passes, which otherwise walk millions of its objects again and again and pause requests for 100s of ms."""
    import gc

    gc.collect()
    gc.freeze()


class Latest:
    """The latest batch output, read when first asked for and again whenever its manifest changes.

    Safe to call from several threads: one reads while the others wait, and a failed read keeps the last good
    output (and logs why)."""

    def __init__(self, settings: Settings):
        self.folder = output_folder(settings)
        self._lock = threading.Lock()
        self._output: Output | None = None

    def get(self) -> Output | None:
        """The output, or None when no batch output exists yet."""
        try:
            stamp = _stamp(self.folder)
        except OSError:
            return self._output
        current = self._output
        if current is not None and current.stamp == stamp:
            return current
        with self._lock:
            if self._output is None or self._output.stamp != stamp:
                try:
                    self._output = read_output(self.folder)
                    out_of_the_collectors_way()
                    log.info("read the batch output %s (%d cooperatives)", stamp[0], len(self._output.scores))
                except (OSError, ValueError, KeyError) as err:
                    log.warning("cannot read the batch output in %s: %s", self.folder, err)
            return self._output
