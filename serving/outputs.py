"""The files of a ``klinik score`` run, written into one folder: the scores, the reasons, the clinic's workbook and
the report.

scores.csv and scores.parquet (the contract's Scores table, ordered by rank), reasons.parquet (the structured
reasons), evidence.parquet (names, kecamatan, type and the facts behind each action, for the staff page),
klinik-koperasi-<year>.xlsx (the clinic's lists, serving/excel.py), report.html (serving/report.py).
The folder is the run's temporary one: the batch job swaps it into place whole, manifest included.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from klinik.serving.backtest import Backtest
    from klinik.serving.decisions import InForce
    from klinik.serving.decisions_io import DecisionReview
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

SCORES_CSV, SCORES_PARQUET, REASONS_PARQUET, EVIDENCE_PARQUET, REPORT_HTML = (
    "scores.csv",
    "scores.parquet",
    "reasons.parquet",
    "evidence.parquet",
    "report.html",
)


def workbook_name(as_of_year: int) -> str:
    return f"klinik-koperasi-{as_of_year}.xlsx"


def read_scores(path: Path, columns: list[str] | None = None):
    """A scores file of any run (Parquet or CSV), with the status codes of the current contract: an output written
    under contract v1 (SEHAT_NOW / SAKIT_NOW / UNASSESSED) is read as v1.1 (data.contract.STATUS_V1), its intervals
    (``*_lo``, ``*_hi``, which v1 lacks) empty."""
    import pandas as pd

    from klinik.data.contract import SCORE_COLUMNS, STATUS_V1

    path = Path(path)
    frame = pd.read_parquet(path, columns=columns) if path.suffix == ".parquet" else pd.read_csv(path, usecols=columns)
    if "status" in frame.columns:
        frame["status"] = frame["status"].replace(STATUS_V1)
    for column in SCORE_COLUMNS:
        if column.endswith(("_lo", "_hi")) and column not in frame.columns and (columns is None or column in columns):
            frame[column] = float("nan")
    return frame


def write_outputs(
    folder: Path,
    result: ScoreResult,
    settings: Settings,
    backtest: Backtest | None,
    decisions: InForce | None = None,
    review: DecisionReview | None = None,
    watch: dict | None = None,
) -> list[Path]:
    """Every output file but the manifest, into ``folder``; returns their paths (``decisions``, the decisions in
    force for the workbook, and ``review``, last year's for the report: serving/decisions_io.py; ``watch``, the
    drift and the retraining advice for the report: serving/drift.py).

    The workbook (openpyxl, pure Python, the slowest writer) is written by a forked child process beside the
    others; each file is complete before this returns.
    """
    from klinik.serving.excel import write_workbook
    from klinik.serving.report import write_report

    scores = result.scores
    workbook = folder / workbook_name(result.as_of_year)
    paths = [
        folder / SCORES_CSV,
        folder / SCORES_PARQUET,
        folder / REASONS_PARQUET,
        folder / EVIDENCE_PARQUET,
        workbook,
        folder / REPORT_HTML,
    ]
    with WriterBeside("workbook", write_workbook, workbook, result, settings, decisions) as beside:
        scores.to_csv(folder / SCORES_CSV, index=False, lineterminator="\n")
        scores.to_parquet(folder / SCORES_PARQUET, index=False)
        result.reasons.to_parquet(folder / REASONS_PARQUET, index=False)
        result.evidence.to_parquet(folder / EVIDENCE_PARQUET, index=False)
        write_report(folder / REPORT_HTML, result, settings, backtest, review, watch)
        beside.wait()
    return paths


class WriterBeside:
    """``fn(*args)`` in a forked child process, so a pure-Python writer (openpyxl) runs on the other core while
    this process writes the rest; where fork is not available (or not safe: macOS, Windows) it runs here when
    waited for.

    ``wait()`` raises what the child raised: an OSError as itself, anything else as a RuntimeError carrying its
    traceback. Used as a context manager: leaving the block by an error or an interrupt ends the child at once
    instead of waiting for it. The child ignores Ctrl-C (the parent decides) and ends by itself when the parent
    ends, even by kill -9, so a killed run never leaves a writer behind.
    """

    def __init__(self, what: str, fn, *args):
        self.what, self.fn, self.args, self.proc = what, fn, args, None
        if not sys.platform.startswith("linux"):
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)

        def child() -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a Ctrl-C pending from the fork is dropped
            _end_with_parent()
            try:
                fn(*args)
                send.send(None)
            except BaseException as err:  # noqa: BLE001 -- everything goes back to the parent, which raises it
                # an OSError (a full disk) goes back as itself, so the parent can say what it is
                send.send((err if isinstance(err, OSError) else None, traceback.format_exc()))
                # and the writer ends here: the file it left open (a zip on a full disk) is not closed again by the
                # garbage collector, which would print an "Exception ignored" traceback of its own
                os._exit(1)

        self.proc = ctx.Process(target=child, name=f"klinik-{what}", daemon=True)
        # Ctrl-C stays blocked from the fork until the child ignores it: at no moment does the child meet a
        # KeyboardInterrupt of its own (and print its traceback). The parent takes it after the fork.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        send.close()

    def __enter__(self) -> WriterBeside:
        return self

    def __exit__(self, kind, error, tb) -> None:
        if self.proc is not None and self.proc.is_alive():  # left early: the writer's file is not wanted
            self.proc.kill()
            self.proc.join()

    def wait(self) -> None:
        if self.proc is None:
            self.fn(*self.args)
            return
        try:
            failure = self._recv.recv()
        except EOFError:
            failure = (None, "the writer process ended without a word")
        finally:
            self.proc.join()
            self._recv.close()
        if failure is None and self.proc.exitcode != 0:
            failure = (None, f"the writer process exited with {self.proc.exitcode}")
        if failure is not None:
            error, text = failure
            if error is not None:
                error.add_note(f"in the {self.what} writer:\n{text}")
                raise error
            raise RuntimeError(f"writing the {self.what} failed:\n{text}")


def _end_with_parent() -> None:
    """In a forked child: end it as soon as its parent has ended.

    The parent's sentinel (a pipe whose other end only the parent holds) becomes ready when the parent ends,
    however it ends; a thread waits on it. The portable stand-in for Linux's prctl(PR_SET_PDEATHSIG).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="klinik-parent-watch", daemon=True).start()
