"""PSI judges a distribution only where there is one: a feature known for a dozen cooperatives is not judged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from klinik.serving.drift import MIN_KNOWN, compare


def test_a_shift_is_flagged_and_a_dozen_values_are_not_judged():
    rng = np.random.default_rng(0)
    n = 2_000
    train = pd.DataFrame({"ratio": rng.normal(size=n), "sick_only": np.full(n, np.nan)})
    train.loc[: MIN_KNOWN * 4, "sick_only"] = rng.normal(size=MIN_KNOWN * 4 + 1)
    now = pd.DataFrame({"ratio": rng.normal(loc=1.0, size=n), "sick_only": np.full(n, np.nan)})
    now.loc[:11, "sick_only"] = rng.normal(loc=3.0, size=12)  # moved, but only twelve values
    drift = compare(train, now, ["ratio", "sick_only"])
    table = drift.table.set_index("feature")
    assert table.loc["ratio", "moved"] and table.loc["ratio", "psi"] > 0.25
    assert not table.loc["sick_only", "moved"] and table.loc["sick_only", "psi"] == 0.0
    now.loc[: MIN_KNOWN * 4, "sick_only"] = rng.normal(loc=3.0, size=MIN_KNOWN * 4 + 1)  # enough to judge
    assert compare(train, now, ["sick_only"]).table.set_index("feature").loc["sick_only", "moved"]
