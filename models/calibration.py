"""Expected calibration error: how far predicted probabilities sit from the rates observed.

Here, with the models, because two stages judge probabilities with it: training (the holdout, training/evaluate.py)
and the batch job (last year's predictions against what happened, serving/drift.py), and serving never imports
training. Over ``ECE_BINS`` equal-width bins of the predicted probability ([0, 0.1), ..., [0.9, 1.0]): the mean
over rows of |mean prediction - observed rate| in the row's bin (Guo et al. 2017).
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 10


def expected_calibration_error(y, p, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-width bins of p (see the module's notes)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(idx):
        mask = idx == b
        total += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(total / len(y))
