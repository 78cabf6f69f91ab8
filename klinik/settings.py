"""The one typed place for configuration: paths, deadlines, thresholds and limits.

Every value can be overridden from the environment with the prefix ``KLINIK_`` (for example
``KLINIK_CLINIC_CAPACITY_SHARE=0.05``); the MLflow store also honours ``MLFLOW_TRACKING_URI``.
Reading settings has no side effects: nothing is created until a command needs it.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from klinik.data.contract import BULELENG_DISTRICTS

# The settings that shape what a model learns from and is scored on: the features (X: which RAT counts by the
# deadlines) and the labels (y, and the status that says which model scores a cooperative). Training records
# their values with each model (MLflow run parameters, the registered version's tags, the logged model's
# metadata); scoring refuses a model recorded with other values (Settings.mismatch).
FEATURE_LABEL_SETTINGS = (
    "rat_office_deadline_month",
    "rat_office_deadline_day",
    "rat_legal_deadline_months",
    "status_max_age_years",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KLINIK_", frozen=True)

    # --- where generated things live (git-ignored) ---
    work_dir: Path = Path("work")
    tracking_uri: str | None = Field(default=None, description="MLflow tracking URI; default SQLite in work_dir")
    bentoml_home: Path | None = None
    database_url: str | None = Field(
        default=None, description="the decision record (SQLAlchemy URL); default SQLite work_dir/klinik.db"
    )

    # --- the office ---
    language: Literal["en", "id"] = "en"  # what klinik validate and klinik score say: English or Indonesian

    # --- the law and the office (docs/domain.md: settings, not constants) ---
    rat_legal_deadline_months: int = 6  # UU 25/1992: RAT within six months after the book year
    rat_office_deadline_month: int = 3  # Buleleng asks for the RAT by the end of March
    rat_office_deadline_day: int = 31
    inactive_years_without_rat: int = 2  # consecutive years without RAT -> "tidak aktif", closure candidate
    office_name: str = "Dinas Koperasi dan UKM Kabupaten Buleleng"  # named on the report and the workbook
    # the office's kecamatan: the service refuses any other (a misspelling); empty: not checked
    districts: tuple[str, ...] = BULELENG_DISTRICTS

    # --- the clinic ---
    clinic_capacity_share: float = 0.10  # K for top-K metrics and the outreach list, share of coops scored
    jangkau_threshold: float = 0.30  # p_sick_next at or above this: reach out now (FDIC SCOR uses 30%)
    bina_threshold: float = 0.40  # p_recover at or above this: treat
    closure_recover_threshold: float = 0.15  # p_recover below this (with legal facts) -> consider closure
    closure_min_years_sick: int = 2

    # --- policy and batch scoring (models/policy.py, serving/scoring.py, serving/batch.py) ---
    status_max_age_years: int = 1  # an assessment up to this many years before as_of_year still sets the status
    reasons_top_n: int = 3  # reasons shown per cooperative
    outreach_min_capacity: int = 1  # the outreach list holds at least this many when any coop is above threshold

    # --- models ---
    seed: int = 42
    risk_model_name: str = "koperasi-risk"
    recovery_model_name: str = "koperasi-recovery"

    # --- training and judging (models/estimators.py, training/) ---
    train_folds: int | None = None  # folds for early stopping and calibration (None: 5; 3 when events abound)
    train_threads: int = 2  # LightGBM threads while training large data (0: all cores); serving sets its own
    # the model families the estimator chooses among (models/estimators.py CANDIDATES), comma-separated; fewer is
    # cheaper (the test suite drops the plainer booster), not better
    train_candidates: str = "trees,plain_trees,additive"
    interval_folds: int = (
        10  # cooperative-grouped folds of the jackknife behind every 80% interval (models/intervals.py)
    )
    backtest_years: int = 3  # rolling backtest over the last N labelled years (the last one is the holdout)
    promotion_metric: str = "roc_auc"  # champion moves when the challenger is at least as good on this...
    promotion_tiebreak: str = "log_loss"  # ...and, on a tie (within promotion_tolerance), on this
    promotion_tolerance: float = 1e-9
    retrain_margin: float = 0.05  # last year's ROC AUC this far below the holdout's: the batch job advises retraining

    # --- for developers ---
    debug: bool = False  # tracebacks for expected failures (CLI errors, refused requests in the server log)

    # --- serving ---
    api_key: str | None = None
    max_coops_per_request: int = 500
    max_body_bytes: int = 16_000_000  # 500 cooperatives x 11 years of records is about 8 MB of JSON
    body_read_timeout_s: float = 15.0  # a request body that stops arriving this long is answered 408
    lookup_scores_path: Path | None = None  # default: work_dir/scores/latest/scores.parquet

    # --- staff accounts (serving/records.py) ---
    login_max_failures: int = 5  # failed logins in a row before the account pauses
    login_pause_seconds: int = 300  # how long it pauses

    @property
    def mlflow_uri(self) -> str:
        """MLFLOW_TRACKING_URI wins, then KLINIK_TRACKING_URI, then SQLite under work_dir."""
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.work_dir / 'mlflow.db').resolve()}"

    @property
    def records_url(self) -> str:
        """KLINIK_DATABASE_URL, else the SQLite file klinik.db under work_dir."""
        return self.database_url or f"sqlite:///{(self.work_dir / 'klinik.db').resolve()}"

    @property
    def bento_home(self) -> Path:
        return (self.bentoml_home or self.work_dir / "bentoml").resolve()

    @property
    def current_year(self) -> int:
        return _dt.date.today().year

    @property
    def feature_label_values(self) -> dict[str, int]:
        """The values of FEATURE_LABEL_SETTINGS, as training records them with a model."""
        return {name: getattr(self, name) for name in FEATURE_LABEL_SETTINGS}

    def changed(self, recorded: Mapping[str, object]) -> dict[str, tuple[object | None, int]]:
        """{name: (recorded value or None when not recorded, value now)} for each of FEATURE_LABEL_SETTINGS
        whose value in ``recorded`` differs from these settings' (compared as text, as MLflow tags hold them)."""
        return {
            name: (recorded.get(name), value)
            for name, value in self.feature_label_values.items()
            if name not in recorded or str(recorded[name]) != str(value)
        }

    def mismatch(self, recorded: Mapping[str, object], model: str) -> str | None:
        """Why ``model`` (e.g. "the risk model koperasi-risk v3"), trained with the ``recorded`` values of
        FEATURE_LABEL_SETTINGS, cannot be scored with these settings, in one line; None when it can."""
        changed = self.changed(recorded)
        if not changed:
            return None
        if any(was is None for was, _ in changed.values()):
            return (
                f"{model} does not record the settings its features and labels were built with "
                "(trained by an older version of this code): retrain with `klinik train`"
            )
        name, (was, now) = next(iter(changed.items()))
        return (
            f"{model} was trained with {name}={was} but the settings now have {name}={now}: "
            f"score with KLINIK_{name.upper()}={was} or retrain with `klinik train`"
        )


def get_settings(**overrides) -> Settings:
    """A fresh Settings from the environment, with explicit overrides (tests use these)."""
    return Settings(**overrides)
