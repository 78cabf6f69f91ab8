"""Shared fixtures: one small simulated world and one trained registry per test session.

Everything is real: files in temporary folders, a SQLite MLflow store in a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

WORLD_COOPS = 308
WORLD_YEARS = (2014, 2024)
WORLD_SEED = 7


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory):
    """No test touches the developer's work folder or MLflow store. Training chooses between the two families that
    differ most (boosted trees, additive), without the plainer booster: the same code paths at about half the
    estimator's fitting time (docs/models.md, the estimator's cost in the test suite). The 80% interval is made of
    five refits instead of ten (docs/intervals.md): the same code, half its cost in every training of the suite."""
    work = tmp_path_factory.mktemp("work")
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "KLINIK_WORK_DIR", "BENTOML_HOME", "KLINIK_TRAIN_CANDIDATES")
    names += ("KLINIK_INTERVAL_FOLDS",)
    saved = {k: os.environ.get(k) for k in names}
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    os.environ["KLINIK_WORK_DIR"] = str(work)
    os.environ["BENTOML_HOME"] = str(work / "bentoml")
    os.environ["KLINIK_TRAIN_CANDIDATES"] = "trees,additive"
    os.environ["KLINIK_INTERVAL_FOLDS"] = "5"
    yield work
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory) -> Path:
    """A Buleleng-sized simulated dataset written as CSV (read-only for tests: copy before changing)."""
    from klinik.data.io import write_dataset
    from klinik.data.simulator import simulate

    out = tmp_path_factory.mktemp("world") / "buleleng"
    write_dataset(simulate(n_coops=WORLD_COOPS, years=WORLD_YEARS, seed=WORLD_SEED), out, fmt="csv")
    return out


@pytest.fixture(scope="session")
def world(world_dir):
    from klinik.data.loader import load_dataset

    return load_dataset(world_dir)


# --- data layer: a tiny hand-made dataset for loader and validation tests ---------------------------------------


@pytest.fixture
def contract_tables():
    """A tiny valid dataset (3 cooperatives, fiscal years 2020-2021) as raw cells, fresh for each test.

    Every column has object dtype, like values a person typed or JSON sent: a test may put text anywhere.
    """
    import pandas as pd

    ids = ["K001", "K002", "K003"]
    money = dict(
        cash=1000.0,
        current_assets=5000.0,
        total_assets=20000.0,
        loans_outstanding=8000.0,
        loans_to_members=7000.0,
        loans_substandard=300.0,
        loans_doubtful=200.0,
        loans_loss=100.0,
        loan_loss_reserve=150.0,
        current_liabilities=4000.0,
        total_liabilities=12000.0,
        voluntary_savings=6000.0,
        external_borrowings=1000.0,
        equity=8000.0,
        principal_savings=500.0,
        mandatory_savings=1500.0,
        gross_participation=3000.0,
        other_revenue=200.0,
        operating_expenses=2500.0,
        personnel_expenses=900.0,
        net_income=-700.5,
    )
    tables = {
        "cooperatives": pd.DataFrame(
            {
                "coop_id": ids,
                "name": ["KSP Sari Dana", "KUD Maju Bersama", "Koperasi Tani Makmur"],
                "coop_type": ["KSP", "KUD", "PRODUSEN"],
                "district": ["Seririt", "Banjar", "Sawan"],
                "founded_year": [1995, 2001, 2010],
                "dissolved_year": [None, None, 2022],
            }
        ),
        "financials": pd.DataFrame([dict(coop_id=c, year=y, **money) for c in ids for y in (2020, 2021)]),
        "staffing": pd.DataFrame(
            [
                dict(
                    coop_id=c,
                    year=y,
                    members=120,
                    board_members=3,
                    supervisors=2,
                    employees=4,
                    has_manager=c != "K003",
                    certified_staff=2,
                    trained_staff=1,
                    staff_departures=0,
                )
                for c in ids
                for y in (2020, 2021)
            ]
        ),
        "meetings": pd.DataFrame(
            {
                "coop_id": ["K001", "K002", "K001"],
                "meeting_type": ["RAT", "RAT", "RAPAT_PENGURUS"],
                "fiscal_year": [2020, 2020, 2021],
                "held_on": ["2021-03-20", "2021-05-02", "2021-07-01"],
                "attendees": [80, None, 5],
            }
        ),
        "health": pd.DataFrame(
            {
                "coop_id": ids,
                "year": [2021, 2021, 2021],
                "category": ["SEHAT", "DALAM_PENGAWASAN", "CUKUP_SEHAT"],
                "score": [85.0, 60.5, None],
            }
        ),
        "clinic_cases": pd.DataFrame(
            {
                "case_id": ["KK-1", "KK-2"],
                "coop_id": ["K002", "K002"],
                "clinic": ["KEUANGAN", "SDM"],
                "opened_on": ["2022-01-10", "2021-06-01"],
                "closed_on": [None, "2022-02-01"],
                "outcome": [None, "PULIH"],
            }
        ),
    }
    return {name: df.astype(object) for name, df in tables.items()}


@pytest.fixture
def write_tables():
    """write(tables, folder, fmt) puts raw tables in a folder as csv, parquet or one xlsx workbook.

    Written with pandas and openpyxl directly (not data/io.py), so the loader is tested against files made
    independently of our own writer. In the workbook, date columns become real Excel date cells.
    """
    import datetime as dt

    def write(tables, folder, fmt="csv"):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            for name, df in tables.items():
                df.to_csv(folder / f"{name}.csv", index=False)
        elif fmt == "parquet":
            for name, df in tables.items():
                df.infer_objects().to_parquet(folder / f"{name}.parquet", index=False)
        else:
            from openpyxl import Workbook

            wb = Workbook()
            wb.remove(wb.active)
            for name, df in tables.items():
                ws = wb.create_sheet(name)
                ws.append(list(df.columns))
                for row in df.itertuples(index=False):
                    cells = []
                    for col, v in zip(df.columns, row):
                        if v is None or (isinstance(v, float) and v != v):
                            v = None
                        elif col in ("held_on", "opened_on", "closed_on") and isinstance(v, str):
                            try:
                                v = dt.date.fromisoformat(v)
                            except ValueError:
                                pass  # a broken date stays the text the test put there
                        cells.append(v)
                    ws.append(cells)
            wb.save(folder / "dataset.xlsx")
        return folder

    return write


# --- models and training: both models trained once into a temporary MLflow store --------------------------------


@pytest.fixture(scope="session")
def trained_registry(world_dir, tmp_path_factory):
    """Both models trained by ``klinik.training.train.train_all`` on ``world_dir`` into a SQLite MLflow store in a
    temporary folder (the same code path as ``klinik train``; three grouped folds keep it fast).

    Attributes: ``tracking_uri``, ``work_dir``, ``settings`` (a Settings pointing there), ``summary``
    (what train_all returned), ``data_dir``. Read-only for tests: copy the store before adding versions.
    """
    from types import SimpleNamespace

    from klinik.settings import get_settings
    from klinik.training.train import train_all

    work = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    settings = get_settings(work_dir=work, tracking_uri=uri, train_folds=3, train_threads=1)
    summary = train_all(world_dir, settings)
    return SimpleNamespace(tracking_uri=uri, work_dir=work, settings=settings, summary=summary, data_dir=world_dir)


@pytest.fixture(scope="module")
def store(trained_registry):
    """The trained registry as the store of this module's runs (MLFLOW_TRACKING_URI wins in Settings)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", trained_registry.tracking_uri)
    yield trained_registry
    mp.undo()


# --- the decision record: the same tests on SQLite and on a real PostgreSQL server ---------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster started for this session (tests/postgres_server.py); fails, never skips, without one."""
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """An empty decision record: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'klinik.db'}"
    return request.getfixturevalue("postgres_server").new_database()


# --- the team's deployment: a real MLflow tracking server on that PostgreSQL server ---------------------------------


@pytest.fixture(scope="session")
def mlflow_server(postgres_server):
    """``mlflow server`` with its store in a database of the session's PostgreSQL server, artifacts served by the
    server and basic-auth on (tests/mlflow_server.py); one per session."""
    from mlflow_server import MlflowServer

    server = MlflowServer(postgres_server.new_database()).start()
    yield server
    server.stop()
