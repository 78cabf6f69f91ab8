"""``klinik simulate --variant NAME`` writes that world of the family; an unknown name is refused with the list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from klinik.commands import EXIT_USAGE
from klinik.data.loader import load_dataset
from klinik.data.simulator import VARIANTS, simulate, variant

KLINIK = str(Path(sys.executable).with_name("klinik"))  # the console script installed in the venv


def _simulate(out: Path, name: str) -> subprocess.CompletedProcess:
    args = ["simulate", "--out", str(out), "--coops", "40", "--years", "2019-2023", "--seed", "3", "--variant", name]
    return subprocess.run([KLINIK, *args], capture_output=True, text=True, timeout=300)


def test_a_named_variant_is_written(tmp_path):
    done = _simulate(tmp_path / "w", "cause-mix")
    assert done.returncode == 0, done.stderr
    assert "world cause-mix" in done.stdout
    expected = simulate(n_coops=40, years=(2019, 2023), seed=3, spec=variant("cause-mix"))
    got = load_dataset(tmp_path / "w")
    pd.testing.assert_frame_equal(got.truth, expected["truth"])
    other = simulate(n_coops=40, years=(2019, 2023), seed=3)
    assert not other["truth"].equals(expected["truth"])  # the variant made a difference


def test_an_unknown_variant_is_refused_with_the_names(tmp_path):
    done = _simulate(tmp_path / "w", "no-such-world")
    assert done.returncode == EXIT_USAGE
    assert "no-such-world" in done.stderr and all(name in done.stderr for name in VARIANTS)
    assert not (tmp_path / "w").exists()
