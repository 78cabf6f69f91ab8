"""Train, judge and register both models: the work behind ``klinik train``.

For each task (risk, recovery):
1. the labelled rows (training/data_prep.py); the holdout is the task's last labelled year;
2. a rolling backtest over the last ``Settings.backtest_years`` years: for each test year, fit the model and
   the baselines on the years before it and judge all of them on that year (the last one is the holdout).
   With many events (``FORWARD_EVENTS`` of the rarer class before the holdout: provincial and national data)
   the holdout is fitted first, in full, and each earlier year's model is the holdout's refitted on that
   year's past with its choices kept (trees, penalty, blend weights): one fit instead of a choice per year.
   Those choices were made with later years, so the earlier years' figures may flatter a little; the holdout,
   which decides promotion, is fitted in full as always;
3. the model fitted for the holdout (years before it) is the one logged and registered: the model that is
   served is exactly the model that was judged, and the champion can be re-scored fairly on a later holdout;
4. one MLflow run per model (parameters, metrics of model, baselines and truth, the dataset, figures, the
   model with signature and input example), a new registered version with alias ``challenger``, and
   ``champion`` moved to it only when it is at least as good as the current champion on the same holdout
   (training/registry.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from klinik.data.contract import CLINICS
from klinik.features.labels import TASKS
from klinik.models.baselines import LevelBaseline, ScoreBaseline, logistic_baseline
from klinik.models.estimators import FORWARD_EVENTS, build_estimator, refit_like
from klinik.models.explain import main_cause, spell_contributions
from klinik.models.intervals import LABEL_HORIZON, add_intervals, interval_metrics
from klinik.settings import Settings
from klinik.training.data_prep import TaskData, data_hash, feature_table, task_data
from klinik.training.evaluate import metrics_table

log = logging.getLogger(__name__)


def make_baselines(td: TaskData, random_state: int = 0) -> dict:
    """The baselines whose columns the features hold (see models/baselines.py):

    - ``office_score``: the office's last assessed health score (``health_score``), a Platt curve;
    - ``official_score``: the official score computed from the ratios (``official_score``), a Platt curve;
    - ``official_category``: the rate by the category of that computed score (``official_category_rank``);
    - ``persistence``: the rate by this year's assessed category (``health_category_rank``);
    - ``logistic``: a logistic regression on all the same features.
    """
    cols = set(td.feature_columns)
    out: dict = {}
    if "health_score" in cols:
        out["office_score"] = ScoreBaseline("health_score")
    if "official_score" in cols:
        out["official_score"] = ScoreBaseline("official_score")
    if "official_category_rank" in cols:
        out["official_category"] = LevelBaseline("official_category_rank")
    if "health_category_rank" in cols:
        out["persistence"] = LevelBaseline("health_category_rank")
    out["logistic"] = logistic_baseline(td.categorical, random_state=random_state)
    return out


def estimator_params(settings: Settings, n_rows: int) -> dict:
    """Folds, threads and candidate families for the estimator: below 20,000 rows one thread is as fast
    (LightGBM's threads split rows) and does not fight other processes for the cores."""
    return {
        "n_splits": settings.train_folds,
        "n_jobs": 1 if n_rows < 20_000 else settings.train_threads,
        "candidates": tuple(name.strip() for name in settings.train_candidates.split(",") if name.strip()),
    }


@dataclass
class Judged:
    """One fit-and-judge on one test year: the model, what everyone predicted, and the metrics."""

    task: str
    test_year: int
    model: object
    train: pd.DataFrame
    test: pd.DataFrame
    predictions: dict[str, np.ndarray]
    metrics: pd.DataFrame  # one row per predictor (model, baselines, truth)
    fit_seconds: float
    baselines: dict = field(default_factory=dict)

    @property
    def model_metrics(self) -> dict[str, float]:
        return self.metrics.loc["model"].to_dict()


def judge(
    td: TaskData,
    test_year: int,
    settings: Settings,
    *,
    with_baselines: bool = True,
    params: dict | None = None,
    like=None,
) -> Judged:
    """Fit the model (and baselines) on the years before ``test_year`` and judge them on ``test_year``; with
    ``like`` (a fitted model), the model is ``like`` refitted with its choices kept (models.estimators.refit_like)."""
    train, test = td.split(test_year)
    started = time.perf_counter()
    if like is not None:
        model = refit_like(like, td.X(train), train["label"].to_numpy())
    else:
        model = build_estimator(
            td.task,
            categorical=td.categorical,
            monotone=td.monotone,
            random_state=settings.seed,
            **(params or estimator_params(settings, len(train))),
        )
        model.fit(
            td.X(train),
            train["label"].to_numpy(),
            clf__groups=train["coop_id"].to_numpy(),
            clf__time=train["year"].to_numpy(),
        )
    fit_seconds = time.perf_counter() - started
    predictions = {"model": model.predict_proba(td.X(test))[:, 1]}
    baselines = make_baselines(td, settings.seed) if with_baselines else {}
    for name, baseline in baselines.items():
        baseline.fit(td.X(train), train["label"].to_numpy())
        predictions[name] = baseline.predict_proba(td.X(test))[:, 1]
    if td.has_truth:
        predictions["truth"] = test["truth"].to_numpy(dtype=float)
    table = metrics_table(test["label"].to_numpy(), predictions, capacity_share=settings.clinic_capacity_share)
    return Judged(td.task, test_year, model, train, test, predictions, table, fit_seconds, baselines)


def with_intervals(judged: Judged, td: TaskData, settings: Settings) -> Judged:
    """The judged model with its jackknife copies fitted on its training rows (models/intervals.py): the 80%
    interval of every score it gives, carried by the model that is logged and served."""
    rows = judged.train
    add_intervals(
        judged.model,
        td.X(rows),
        rows["label"].to_numpy(),
        rows["coop_id"].to_numpy(),
        rows["year"].to_numpy(),
        n_folds=settings.interval_folds,
        min_lag=LABEL_HORIZON[td.task],
        random_state=settings.seed,
    )
    return judged


def backtest(td: TaskData, settings: Settings) -> tuple[Judged, pd.DataFrame]:
    """Rolling-origin backtest over the last ``backtest_years`` labelled years (each trained on the years
    before it). Returns the holdout's Judged (the last year) and a long table (year, predictor, metrics)."""
    years = td.years
    # at least two training years before the first test year
    test_years = [y for y in years[-settings.backtest_years :] if sum(t < y for t in years) >= 2] or years[-1:]
    holdout = judge(td, test_years[-1], settings)
    past = td.split(test_years[-1])[0]["label"].to_numpy()
    many = min(past.sum(), len(past) - past.sum()) >= FORWARD_EVENTS
    rows = []
    for year in test_years:
        judged = holdout if year == test_years[-1] else judge(td, year, settings, like=holdout.model if many else None)
        rows.append(judged.metrics.assign(year=year).rename_axis("predictor").reset_index())
    return holdout, pd.concat(rows, ignore_index=True)


def routing(
    risk_model,
    feats: pd.DataFrame,
    columns: list[str],
    sick: pd.DataFrame,
    groups: dict,
    truth: pd.DataFrame | None,
    year: int,
) -> dict[str, float]:
    """Clinic routing of the cooperatives sick in ``year``, with truth (simulated data) the share whose
    clinic matches truth.cause.

    The clinic is the main cause group by the risk model's summed TreeSHAP contributions (models/explain.py),
    summed over two moments: the cooperative's features of ``year`` (what is wrong now) and, when the data
    hold it, of the last year before its current sick spell began (``year - years_sick``: why it fell sick,
    read where the risk model was trained, on a cooperative not yet sick).
    """
    rows = sick[(sick["year"] == year) & (sick["sick"].astype(bool))][["coop_id", "year"]]
    X = rows.merge(feats, on=["coop_id", "year"], how="inner")
    if X.empty:
        return {}
    clinic = main_cause(spell_contributions(risk_model, X, feats, columns, "years_sick"), groups)
    out = {f"routed_{c.lower()}": float((clinic == c).mean()) for c in CLINICS}
    out["routed_n"] = float(len(X))
    if truth is not None and len(truth) and "cause" in truth:
        t = (
            X[["coop_id", "year"]]
            .assign(clinic=clinic.to_numpy())
            .merge(truth[["coop_id", "year", "cause"]], on=["coop_id", "year"], how="inner")
        )
        t = t[t["cause"].notna()]
        if len(t):
            out["cause_match"] = float((t["clinic"] == t["cause"]).mean())
            out["cause_match_n"] = float(len(t))
    return out


def train_all(data_dir: Path, settings: Settings) -> dict:
    """Train, judge, log and register both models from the dataset in ``data_dir``.

    Returns ``{task: {"run_id", "model_name", "version", "holdout_year", "metrics", "baselines",
    "truth", "promoted", "decision", "champion_version", ...}}``.
    """
    from klinik.data.loader import load_dataset
    from klinik.features.labels import make_labels
    from klinik.models.persist import mlflow_store
    from klinik.training.registry import Candidate, experiment_id, log_and_register

    data_dir = Path(data_dir)
    started = time.perf_counter()
    ds = load_dataset(data_dir)  # refuses bad data before anything is written
    # the Settings given are the only ones the features and labels are built with: the registry records their
    # values with each model, and scoring refuses other values
    feats, columns = feature_table(ds, settings)
    digest = data_hash(ds)
    labels = make_labels(ds, settings)
    summary: dict = {}
    # MLflow's global store is set for this call only (set explicitly, never at import) and put back after
    with mlflow_store(settings.mlflow_uri):
        experiment = experiment_id(settings)
        for task in TASKS:
            t0 = time.perf_counter()
            td = task_data(ds, task, settings, feats, columns)
            holdout, bt = backtest(td, settings)
            t1 = time.perf_counter()
            with_intervals(holdout, td, settings)
            train_seconds = time.perf_counter() - t0
            extra = interval_metrics(holdout.model, td.X(holdout.test), holdout.predictions.get("truth"))
            extra["interval_seconds"] = time.perf_counter() - t1
            if task == "risk":
                # routing is always by the risk model (serving does the same): judged on the coops sick in
                # the risk holdout year
                extra |= routing(holdout.model, feats, columns, labels, td.groups, ds.truth, holdout.test_year)
            candidate = Candidate(td, holdout, bt, data_dir, digest, train_seconds, extra)
            summary[task] = log_and_register(candidate, settings, experiment)
            log.info("%s: version %s, %s", task, summary[task]["version"], summary[task]["decision"])
    summary["seconds"] = time.perf_counter() - started
    return summary
