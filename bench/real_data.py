"""Two public financial-distress datasets, read where they are kept, with the benchmark's fixed protocol.

Data no simulator of ours made, to judge the estimator on (bench/bench_family.py). They are read from a folder
outside the repository (``--real``; its README names the sources and checksums) and never copied in.

- ``polish-1year``: Polish companies' bankruptcy, 1st year (ARFF): 64 financial ratios named ``Attr1``..``Attr64``
  in file order (missing ``?`` -> NaN), label the last column (1 = bankrupt). One row per firm: 5-fold
  stratified, shuffled with seed 0; no groups.
- ``financial-distress``: a firm-by-period panel: features ``x1``..``x83`` (``x80`` categorical), label
  ``Financial Distress < -0.50`` (a company is distressed in its last period only). 5-fold stratified and grouped
  by ``Company`` (a company's periods never straddle folds), shuffled with seed 0; ``Company`` is the group and
  ``Time`` the period of each row, neither a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

FOLDS, SEED = 5, 0
DISTRESS_BELOW = -0.50
FILES = {"polish-1year": "polish-1year.arff", "financial-distress": "financial-distress.csv"}


@dataclass
class RealData:
    """One dataset: features, 0/1 label, groups and period (None when rows are independent), folds."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray | None
    time: np.ndarray | None
    categorical: list[str]
    folds: list[tuple[np.ndarray, np.ndarray]]
    protocol: str


def polish(folder: Path) -> RealData:
    from scipy.io import arff

    path = Path(folder) / FILES["polish-1year"]
    data, _ = arff.loadarff(path)
    frame = pd.DataFrame(data)
    label = frame.columns[-1]
    y = frame[label].map(lambda v: int(v.decode() if isinstance(v, bytes) else v)).to_numpy()
    X = frame.drop(columns=label).astype(float)
    X.columns = [f"Attr{i + 1}" for i in range(X.shape[1])]
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(X, y))
    return RealData("polish-1year", X, y, None, None, [], folds, f"{FOLDS}-fold stratified, seed {SEED}")


def financial_distress(folder: Path) -> RealData:
    path = Path(folder) / FILES["financial-distress"]
    frame = pd.read_csv(path)
    y = (frame["Financial Distress"] < DISTRESS_BELOW).astype(int).to_numpy()
    features = [f"x{i}" for i in range(1, 84)]
    X = frame[features].astype(float)
    groups = frame["Company"].to_numpy()
    splitter = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=SEED)
    folds = list(splitter.split(X, y, groups))
    protocol = f"{FOLDS}-fold stratified, grouped by company, seed {SEED}"
    return RealData("financial-distress", X, y, groups, frame["Time"].to_numpy(), ["x80"], folds, protocol)


LOADERS = {"polish-1year": polish, "financial-distress": financial_distress}


def load(name: str, folder: Path) -> RealData:
    """The dataset ``name`` from ``folder``; a missing file is named with the option that points elsewhere."""
    path = Path(folder) / FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: point --real at the folder that holds {FILES[name]}")
    return LOADERS[name](folder)
