"""``klinik score``: score every cooperative for one year and write the clinic's lists, a report and a manifest.

Order of work: validate the dataset (a dataset that fails stops the run here, before any model is loaded, with
the full validation report, exit 1) -> load the models from the MLflow registry -> score (serving.scoring) ->
write every output into a temporary folder beside ``--out`` -> swap it into place.

Outputs in ``--out``: scores.csv and scores.parquet (the contract's Scores table, ordered by rank),
reasons.parquet (the structured reasons), klinik-koperasi-<year>.xlsx (the clinic's lists), report.html,
manifest.json (the audit record: models, input hash, settings, counts, times, arguments).

Safe and repeatable:
- The temporary folder ``.<out>.tmp-<pid>`` is made as soon as the data passed validation; the finished folder
  replaces ``--out`` in one atomic step (Linux renameat2 RENAME_EXCHANGE; elsewhere two renames, and a run that
  finds ``--out`` missing beside a ``.<out>.old-*`` folder puts the old one back). A run killed at any point
  leaves the previous output whole; the next run removes the leftovers of killed runs.
- The same inputs and models give byte-identical scores.csv (only the manifest's times differ).

``--model-version``: "3" (version 3 of both models), "risk=3,recovery=2", or an alias ("challenger");
default the champions. Exit codes: 0 done, 1 invalid input data, 2 bad arguments (--as-of outside the data,
a malformed --model-version), 3 no usable model (none in the registry, or one wanting features the code no
longer builds: retrain).

Last year's predictions, judged (report.html): when the dataset holds health assessments for as_of+1 (a past
year re-scored), this run's own predictions are compared with them; otherwise, when it holds assessments for
as_of, an earlier run's scores for as_of-1 are looked for in ``--out`` itself and in the folders beside it
(the layout ``work/scores/2023``, ``work/scores/2024``), newest first.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from klinik.data.dataset import Dataset
    from klinik.serving.report import Backtest
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

EXIT_INVALID_DATA, EXIT_USAGE, EXIT_NO_MODEL = 1, 2, 3
TMP_TAG, OLD_TAG = ".tmp-", ".old-"


# ---------------------------------------------------------------- the folder swap
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(out: Path, tag: str) -> list[Path]:
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}{tag}") and p.is_dir())


def recover(out: Path) -> None:
    """Put back an output a fallback swap left half-done, and remove temporary folders of dead runs."""
    olds = _leftovers(out, OLD_TAG)
    if olds and not out.exists():
        os.rename(olds[-1], out)
        olds = olds[:-1]
    for path in olds:
        shutil.rmtree(path, ignore_errors=True)
    for path in _leftovers(out, TMP_TAG):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_into_place(tmp: Path, out: Path) -> None:
    """Make ``tmp`` the new ``out``; the previous ``out`` (if any) is removed only after the swap."""
    if not out.exists():
        os.rename(tmp, out)
        return
    if not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a folder")
    if _exchange(tmp, out):
        shutil.rmtree(tmp)
        return
    old = out.parent / f".{out.name}{OLD_TAG}{os.getpid()}"
    os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old)


# ---------------------------------------------------------------- the audit record
class _Stopped(Exception):
    """Hashing was called off (the dataset failed validation: no manifest will be written)."""


def _sha256(path: Path, stop: threading.Event | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            if stop is not None and stop.is_set():
                raise _Stopped(str(path))
            h.update(block)
    return h.hexdigest()


def hash_inputs(data_dir: Path, stop: threading.Event | None = None) -> dict:
    """The sha256 of every file of the dataset folder, and one hash over all of them (names and contents).

    The batch job runs this in a thread while the dataset is read and validated (hashlib releases the GIL on
    large blocks); ``stop`` set calls it off between blocks.
    """
    files = sorted(p for p in Path(data_dir).rglob("*") if p.is_file())
    entries = [
        {"path": p.relative_to(data_dir).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p, stop)}
        for p in files
    ]
    total = hashlib.sha256("".join(f"{e['path']}\0{e['sha256']}\n" for e in entries).encode()).hexdigest()
    return {"dir": str(Path(data_dir).resolve()), "sha256": total, "files": entries}


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(series.value_counts().items())}


def build_manifest(
    result: ScoreResult,
    models_summary: dict,
    inputs: dict,
    settings: Settings,
    args: dict,
    started: dt.datetime,
    outputs: list[Path],
    backtest: Backtest | None,
    warnings: list[str],
    stage_seconds: dict[str, float] | None = None,
) -> dict:
    scores = result.scores
    finished = dt.datetime.now(dt.UTC)
    kept = settings.model_dump(mode="json", exclude={"api_key"})  # a secret never goes into a record
    return {
        "command": "klinik score",
        "arguments": args,
        "argv": sys.argv,
        "as_of_year": result.as_of_year,
        "note": "Recommendations for a clinic officer to decide on; no action here is a decision.",
        "models": models_summary,
        "input": inputs,
        "validation_warnings": warnings,
        "settings": {**kept, "mlflow_uri": settings.mlflow_uri},
        "counts": {
            "scored": int(len(scores)),
            "outreach_capacity": result.capacity,
            "by_status": _counts(scores["status"]),
            "by_action": _counts(scores["action"]),
            "by_clinic": _counts(scores["clinic"]),
            "by_clinic_and_action": {str(c): _counts(g["action"]) for c, g in scores.groupby("clinic")},
        },
        "backtest": None
        if backtest is None
        else {
            "year": backtest.year,
            "source": backtest.source,
            "model_version": backtest.model_version,
            "rows": int(len(backtest.frame)),
        },
        "outputs": [{"file": p.name, "bytes": p.stat().st_size, "sha256": _sha256(p)} for p in outputs],
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_seconds": round((finished - started).total_seconds(), 2),
        "stage_seconds": stage_seconds or {},
    }


# ---------------------------------------------------------------- last year's predictions, judged
def _earlier_scores(out: Path, year: int) -> tuple[pd.DataFrame, str] | None:
    """An earlier run's scores for ``year``: in ``out`` itself or a folder beside it, newest first."""
    candidates = [out / "scores.parquet"]
    if out.parent.is_dir():
        candidates += [
            p / "scores.parquet" for p in out.parent.iterdir() if p.is_dir() and not p.name.startswith(".") and p != out
        ]
    found = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            years = pd.read_parquet(path, columns=["as_of_year"])["as_of_year"].unique()
        except Exception:  # not our file, or unreadable: it is only a candidate
            continue
        if len(years) == 1 and int(years[0]) == year:
            found.append(path)
    if not found:
        return None
    newest = max(found, key=lambda p: p.stat().st_mtime_ns)
    return pd.read_parquet(newest), f"earlier run {newest.parent}"


def find_backtest(ds: Dataset, result: ScoreResult, out: Path) -> Backtest | None:
    """Predictions of falling sick whose outcome the dataset already knows (see the module's notes)."""
    from klinik.features.labels import make_labels
    from klinik.serving.report import Backtest

    years = set(ds.health["year"].unique().tolist())
    as_of = result.as_of_year
    if as_of + 1 in years:
        preds, year, source = result.scores, as_of, "this run; outcomes from the next year's assessments"
    elif as_of in years:
        earlier = _earlier_scores(out, as_of - 1)
        if earlier is None:
            return None
        (preds, source), year = earlier, as_of - 1
    else:
        return None
    labels = make_labels(ds)
    labels = labels.loc[(labels["year"] == year) & labels["risk_label"].notna(), ["coop_id", "risk_label"]]
    frame = preds.loc[preds["p_sick_next"].notna(), ["coop_id", "p_sick_next", "rank"]].merge(
        labels.astype({"coop_id": "str"}), on="coop_id", how="inner"
    )
    frame = frame.rename(columns={"risk_label": "outcome"}).astype({"outcome": "int64"})
    if frame.empty:
        return None
    version = str(preds["model_version"].iloc[0]) if len(preds) else ""
    return Backtest(frame=frame.reset_index(drop=True), year=year, source=source, model_version=version)


# ---------------------------------------------------------------- the job
class _Beside:
    """``fn(*args)`` in a forked child process, so a pure-Python writer (openpyxl) runs on the other core while
    this process writes the rest; where fork is not available (or not safe: macOS, Windows) it runs here when
    waited for. ``wait()`` raises what the child raised, as a RuntimeError carrying its traceback."""

    def __init__(self, what: str, fn, *args):
        import multiprocessing

        self.what, self.fn, self.args, self.proc = what, fn, args, None
        if not sys.platform.startswith("linux"):
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        parent = os.getpid()

        def child() -> None:
            ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: a killed run takes its writer with it
            if os.getppid() != parent:
                os._exit(1)
            try:
                fn(*args)
                send.send(None)
            except BaseException:  # noqa: BLE001 -- everything goes back to the parent, which raises it
                import traceback

                send.send(traceback.format_exc())

        self.proc = ctx.Process(target=child, name=f"klinik-{what}", daemon=True)
        self.proc.start()
        send.close()

    def wait(self) -> None:
        if self.proc is None:
            self.fn(*self.args)
            return
        try:
            failure = self._recv.recv()
        except EOFError:
            failure = "the writer process ended without a word"
        finally:
            self.proc.join()
            self._recv.close()
        if failure is None and self.proc.exitcode != 0:
            failure = f"the writer process exited with {self.proc.exitcode}"
        if failure is not None:
            raise RuntimeError(f"writing the {self.what} failed:\n{failure}")


def write_outputs(folder: Path, result: ScoreResult, settings: Settings, backtest: Backtest | None) -> list[Path]:
    """Every output file but the manifest, into ``folder``; returns their paths.

    The workbook (openpyxl, pure Python, the slowest writer) is written by a forked child process beside the
    others; each file is complete before this returns.
    """
    from klinik.serving.excel import write_workbook
    from klinik.serving.report import write_report

    scores = result.scores
    paths = [
        folder / "scores.csv",
        folder / "scores.parquet",
        folder / "reasons.parquet",
        folder / f"klinik-koperasi-{result.as_of_year}.xlsx",
        folder / "report.html",
    ]
    workbook = _Beside("workbook", write_workbook, paths[3], result, settings)
    try:
        scores.to_csv(paths[0], index=False, lineterminator="\n")
        scores.to_parquet(paths[1], index=False)
        result.reasons.to_parquet(paths[2], index=False)
        write_report(paths[4], result, settings, backtest)
    finally:
        workbook.wait()
    return paths


class _Stop(Exception):
    """Ends the run with an exit code and a message for stderr (printed after the progress bar is closed)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def run_score(data_dir: Path, as_of: int, out: Path, model_version: str | None = None, quiet: bool = False) -> int:
    """The ``klinik score`` command (see the module's notes). Returns the exit code."""
    data_dir, out = Path(data_dir), Path(out)
    try:
        manifest = _run(data_dir, as_of, out, model_version, quiet)
    except _Stop as stop:
        print(stop.message, file=sys.stderr)
        return stop.code
    if not quiet:
        counts = manifest["counts"]
        print(
            f"scored {counts['scored']} cooperatives for {as_of} with {manifest['models']['model_version']}: "
            + ", ".join(f"{k} {v}" for k, v in counts["by_action"].items())
        )
        print(f"outputs in {out}/: " + ", ".join(o["file"] for o in manifest["outputs"]) + ", manifest.json")
    return 0


class _Stages:
    """The progress bar of the stages, and how long each took (the manifest keeps them)."""

    def __init__(self, quiet: bool):
        from tqdm import tqdm

        self.bar = tqdm(
            total=6,
            desc="validate",
            file=sys.stderr,
            disable=quiet,
            unit="stage",
            bar_format="{desc:<16} {bar:20} {n_fmt}/{total_fmt} [{elapsed}]",
        )
        self.seconds: dict[str, float] = {}
        self._name, self._t0 = "load and validate", time.perf_counter()

    def next(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[self._name] = round(now - self._t0, 2)
        self._name, self._t0 = name, now
        self.bar.update(1)
        self.bar.set_description_str(name)


def _run(data_dir: Path, as_of: int, out: Path, model_version: str | None, quiet: bool) -> dict:
    """The job, with work that does not wait on validation done beside it in threads: hashing the input files
    while the dataset is read; loading the models (only once the data passed validation) while the features
    are built. (Importing the model code beside the reading was tried: no faster, the imports hold the GIL.)"""
    from concurrent.futures import ThreadPoolExecutor

    from klinik.data.loader import load_dataset
    from klinik.data.validation import DatasetInvalid
    from klinik.models.persist import ModelLoadError
    from klinik.serving.scoring import (
        IncompatibleModel,
        ModelNotFound,
        load_models,
        parse_model_version,
        prepare_scoring,
        score_dataset,
    )
    from klinik.settings import get_settings

    started = dt.datetime.now(dt.UTC)
    args = {"data": str(data_dir), "as_of": as_of, "out": str(out), "model_version": model_version, "quiet": quiet}
    settings = get_settings()
    try:
        parse_model_version(model_version)
    except ValueError as err:
        raise _Stop(EXIT_USAGE, f"error: {err}") from None
    stages = _Stages(quiet)
    stop_hashing = threading.Event()
    with stages.bar, ThreadPoolExecutor(max_workers=2, thread_name_prefix="klinik-score") as pool:
        hashing = pool.submit(hash_inputs, data_dir, stop_hashing)
        try:
            try:
                ds = load_dataset(data_dir, require_health=False)
            except DatasetInvalid as err:
                raise _Stop(
                    EXIT_INVALID_DATA,
                    f"{err.report()}\nklinik score: the dataset {data_dir} failed "
                    f"validation; nothing was scored, {out} is unchanged.",
                ) from None
            first = int(ds.financials["year"].min()) if len(ds.financials) else ds.last_year
            if not first <= as_of <= ds.last_year:
                raise _Stop(
                    EXIT_USAGE,
                    f"error: --as-of {as_of} is outside the dataset {data_dir}, which holds "
                    f"fiscal years {first}-{ds.last_year}",
                )
        except _Stop:
            stop_hashing.set()
            raise

        if out.is_symlink():  # e.g. work/scores/latest -> 2024: write into the folder it points at
            out = out.resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out)
        tmp = out.parent / f".{out.name}{TMP_TAG}{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            stages.next("load models, build features")
            loading = pool.submit(load_models, settings, model_version, n_threads=os.cpu_count() or 1)
            prep = prepare_scoring(ds, as_of, settings)
            try:
                models = loading.result()
            except (ModelNotFound, ModelLoadError) as err:
                raise _Stop(EXIT_NO_MODEL, f"error: {err}") from None
            stages.next("score")
            try:
                result = score_dataset(ds, as_of, models, settings, progress=not quiet, prepared=prep)
            except IncompatibleModel as err:
                raise _Stop(EXIT_NO_MODEL, f"error: {err}") from None
            del prep
            stages.next("judge last year")
            backtest = find_backtest(ds, result, out)
            stages.next("write")
            outputs = write_outputs(tmp, result, settings, backtest)
            stages.next("hash inputs")
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
            (tmp / "manifest.json").write_text(
                json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            swap_into_place(tmp, out)
        finally:
            stop_hashing.set()
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest
