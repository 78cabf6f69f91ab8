"""The ``klinik score`` job: score every cooperative for one year and leave the clinic's lists, a report and the
audit record in one folder.

Order of work: validate the dataset (a dataset that fails stops the run here, before any model is loaded) ->
load the models from the MLflow registry -> score (serving/scoring.py) -> judge last year's predictions
(serving/backtest.py) -> write the outputs (serving/outputs.py) and the manifest (serving/manifest.py) into a
temporary folder beside ``--out`` -> swap it into place (data/atomic.py). The command's handler, which prints
what was done, is serving/cmd.py::run_score.

Safe and repeatable:
- The temporary folder ``.<out>.tmp-<pid>`` is made as soon as the data passed validation; the finished folder
  replaces ``--out`` in one step. A run killed at any point leaves the previous output whole; the next run
  removes the leftovers of killed runs.
- The same inputs and models give byte-identical scores.csv (only the manifest's times differ).

``--model-version``: "3" (version 3 of both models), "risk=3,recovery=2", or an alias ("challenger");
default the champions. How it ends (klinik/commands.py): invalid input data (the full validation report),
bad arguments (--as-of outside the data, a malformed --model-version), no usable model (none in the registry,
or one wanting features the code no longer builds: retrain), the decision record refused (its schema is not
this code's: ``klinik db upgrade``; or the workbook in ``--out`` holds decisions not in the record, below).

The officers' decisions (serving/decisions_io.py): the workbook is written with the decisions in force for the
year, and a drop-down of the allowed decisions in every decision cell. Before ``--out`` is replaced, decisions
typed into its workbook that the record lacks are recorded under ``--officer``; without one the run stops before
scoring and says how to record them. The report shows last year's decisions beside what became of the
cooperatives.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from klinik.commands import EXIT_FAILED, EXIT_NO_MODEL, EXIT_USAGE, NO_SPACE, CommandFailed, DataRefused

if TYPE_CHECKING:
    from klinik.data.dataset import Dataset


@contextmanager
def _no_space_means_nothing_replaced(out: Path) -> Iterator[None]:
    """A full disk while writing (or a file size limit) is one line: the new folder is gone, ``out`` unchanged."""
    try:
        yield
    except OSError as err:
        if err.errno not in NO_SPACE:
            raise
        full = {
            errno.ENOSPC: f"no space left on the device of {out}",
            errno.EDQUOT: f"the disk quota is used up on the device of {out}",
            errno.EFBIG: f"a file of {out} would pass the file size limit",
        }[err.errno]
        raise CommandFailed(f"{full}; nothing was replaced, {out} is as it was", EXIT_FAILED) from err


STAGES = ("load and validate", "load models, build features", "score", "judge last year", "write", "hash inputs")


class _Stages:
    """The progress bar of the stages, and how long each took (the manifest keeps them)."""

    def __init__(self, quiet: bool):
        from tqdm import tqdm

        self.bar = tqdm(
            total=len(STAGES),
            desc="validate",
            file=sys.stderr,
            disable=quiet,
            unit="stage",
            bar_format="{desc:<16} {bar:20} {n_fmt}/{total_fmt} [{elapsed}]",
        )
        self.seconds: dict[str, float] = {}
        self._name, self._t0 = STAGES[0], time.perf_counter()

    def next(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[self._name] = round(now - self._t0, 2)
        self._name, self._t0 = name, now
        self.bar.update(1)
        self.bar.set_description_str(name)


def _load_checked(data_dir: Path, as_of: int, out: Path, language: str = "en") -> Dataset:
    """The dataset, valid and holding ``as_of``; else the run ends here, before any model is loaded. What is
    wrong is said in ``language`` (the office's setting), from the data contract's message catalogue."""
    from klinik.data.loader import load_dataset
    from klinik.data.messages import Msg
    from klinik.data.validation import DatasetInvalid

    try:
        ds = load_dataset(data_dir, require_health=False)
    except DatasetInvalid as err:
        refused = Msg("score_refused", data=str(data_dir), out=str(out))
        raise DataRefused(err.report(language=language), refused.say(language)) from None
    first = int(ds.financials["year"].min()) if len(ds.financials) else ds.last_year
    if not first <= as_of <= ds.last_year:
        outside = Msg("as_of_outside", as_of=as_of, data=str(data_dir), first=first, last=ds.last_year)
        raise CommandFailed(outside.say(language), EXIT_USAGE)
    return ds


def _check_out(out: Path) -> None:
    """``--out`` must be able to become a folder: checked before any work (a file there would stop the run at its
    end)."""
    existing = next(p for p in (out, *out.parents) if os.path.lexists(p))
    if not existing.is_dir():
        what = "is a file" if existing == out else f"cannot hold a folder: {existing} is a file"
        raise CommandFailed(f"--out {out} {what}; name a folder (the output is a folder, replaced whole)", EXIT_USAGE)
    if not os.access(existing, os.W_OK):
        raise CommandFailed(f"--out {out}: cannot write into {existing}", EXIT_USAGE)


def score_batch(
    data_dir: Path,
    as_of: int,
    out: Path,
    model_version: str | None = None,
    quiet: bool = False,
    officer: str | None = None,
) -> dict:
    """Run the job (see the module's notes); returns the manifest written. Raises CommandFailed (DataRefused for
    invalid data) with the exit code, leaving ``out`` as it was.

    Work that does not wait on validation is done beside it in threads: hashing the input files while the
    dataset is read; loading the models (only once the data passed validation) while the features are built.
    (Importing the model code beside the reading was tried: no faster, the imports hold the GIL.)
    """
    _check_out(Path(out))  # before anything else, even the imports
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    from klinik.data.atomic import atomic_folder
    from klinik.models.persist import ModelLoadError
    from klinik.serving.backtest import find_backtest
    from klinik.serving.drift import DRIFT_CSV, batch_drift, manifest_entry, retraining_advice
    from klinik.serving.manifest import build_manifest, hash_inputs, write_manifest
    from klinik.serving.outputs import write_outputs
    from klinik.serving.scoring import (
        IncompatibleModel,
        ModelNotFound,
        load_models,
        parse_model_version,
        prepare_scoring,
        score_dataset,
    )
    from klinik.settings import get_settings

    data_dir, out = Path(data_dir), Path(out)
    started = dt.datetime.now(dt.UTC)
    args = {"data": str(data_dir), "as_of": as_of, "out": str(out), "model_version": model_version, "quiet": quiet}
    settings = get_settings()
    try:
        parse_model_version(model_version)
    except ValueError as err:
        raise CommandFailed(str(err), EXIT_USAGE) from None
    stages = _Stages(quiet)
    cancel_hashing = threading.Event()
    with stages.bar, ExitStack() as closing, ThreadPoolExecutor(2, thread_name_prefix="klinik-score") as pool:
        hashing = pool.submit(hash_inputs, data_dir, cancel_hashing)
        try:
            ds = _load_checked(data_dir, as_of, out, settings.language)
            record = closing.enter_context(_open_record(settings, out, officer))  # after: a refused run makes none
            _keep_decisions(record.keep, out, quiet)
            with _no_space_means_nothing_replaced(out), atomic_folder(out) as folder:
                stages.next(STAGES[1])
                loading = pool.submit(load_models, settings, model_version, n_threads=os.cpu_count() or 1)
                prep = prepare_scoring(ds, as_of, settings)
                try:
                    models = loading.result()
                except (ModelNotFound, ModelLoadError, IncompatibleModel) as err:
                    raise CommandFailed(str(err), EXIT_NO_MODEL) from None
                stages.next(STAGES[2])
                try:
                    result = score_dataset(ds, as_of, models, settings, progress=not quiet, prepared=prep)
                except IncompatibleModel as err:
                    raise CommandFailed(str(err), EXIT_NO_MODEL) from None
                del prep
                stages.next(STAGES[3])
                backtest = find_backtest(ds, result, out, settings)
                drift = batch_drift(ds, as_of, models, settings)
                watch = {
                    "input_drift": manifest_entry(drift),
                    "performance": retraining_advice(backtest, models, result.capacity, settings),
                }
                stages.next(STAGES[4])
                outputs = write_outputs(
                    folder,
                    result,
                    settings,
                    backtest,
                    record.entries(as_of),
                    record.review(result.scores, as_of),
                    watch,
                )
                if drift is not None:
                    drift.table.to_csv(folder / DRIFT_CSV, index=False)
                    outputs.append(folder / DRIFT_CSV)
                stages.next(STAGES[5])
                inputs = hashing.result()
                stages.next("done")
                manifest = build_manifest(
                    result,
                    models.summary(),
                    inputs,
                    settings,
                    args,
                    started,
                    outputs,
                    backtest,
                    list(ds.warnings),
                    stages.seconds,
                )
                manifest.update(watch)  # input_drift, performance
                write_manifest(folder, manifest)
                _keep_decisions(record.keep_again, out, quiet)  # a workbook saved meanwhile is looked at again
        finally:
            cancel_hashing.set()
    return manifest


def _open_record(settings, out: Path, officer: str | None):
    """The decision record, or the run ends here with the reason in one line."""
    from klinik.serving.decisions_io import BatchRecord
    from klinik.serving.records import RecordsError

    try:
        return BatchRecord(settings, out, officer)
    except RecordsError as err:
        raise CommandFailed(f"{err}; nothing was scored.") from None


def _keep_decisions(keep, out: Path, quiet: bool) -> None:
    """Decisions typed into the workbook ``out`` holds are recorded before it is replaced, or the run ends."""
    from klinik.data.atomic import recover
    from klinik.serving.decisions import DecisionInvalid
    from klinik.serving.decisions_io import ImportRefused
    from klinik.serving.records import RecordsError

    recover(out)  # a swap killed half-way put back first: its workbook is the one to look at
    try:
        said = keep()
    except (ImportRefused, RecordsError, DecisionInvalid) as err:
        raise CommandFailed(f"{err}\nNothing was written; {out} is unchanged.") from None
    for line in said if not quiet else ():
        print(line, file=sys.stderr)
