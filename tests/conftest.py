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
    """No test touches the developer's work folder or MLflow store."""
    work = tmp_path_factory.mktemp("work")
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "KLINIK_WORK_DIR", "BENTOML_HOME")}
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ["KLINIK_WORK_DIR"] = str(work)
    os.environ["BENTOML_HOME"] = str(work / "bentoml")
    yield work
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory) -> Path:
    """A Buleleng-sized simulated dataset written as CSV (read-only for tests: copy before changing)."""
    from data.io import write_dataset
    from data.simulator import simulate

    out = tmp_path_factory.mktemp("world") / "buleleng"
    write_dataset(simulate(n_coops=WORLD_COOPS, years=WORLD_YEARS, seed=WORLD_SEED), out, fmt="csv")
    return out


@pytest.fixture(scope="session")
def world(world_dir):
    from data.loader import load_dataset

    return load_dataset(world_dir)
