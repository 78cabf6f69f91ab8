"""write_dataset: every format loads back through the real loader unchanged; writing is atomic; Excel's
sheet limit is refused before anything is written."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from klinik.data.io import EXCEL_MAX_ROWS, write_dataset
from klinik.data.loader import load_dataset
from klinik.data.simulator import simulate


@pytest.fixture(scope="module")
def tiny():
    tables = simulate(n_coops=40, years=(2017, 2022), seed=3)
    # every column holds a value somewhere (one cooperative dissolved, some cases closed): the loader does not
    # yet read a sheet whose last column is empty in every row (reported to the lead)
    assert tables["cooperatives"]["dissolved_year"].notna().any()
    return tables


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_round_trip_through_the_loader(tiny, tmp_path, fmt):
    out = write_dataset(tiny, tmp_path / "ds", fmt=fmt)
    files = sorted(p.name for p in out.iterdir())
    if fmt == "xlsx":
        assert files == ["dataset.xlsx"]
    else:
        assert files == sorted(f"{name}.{fmt}" for name in tiny)
    ds = load_dataset(out)
    assert not ds.warnings
    for name, frame in tiny.items():
        pd.testing.assert_frame_equal(getattr(ds, name), frame, check_exact=False, rtol=1e-12, obj=name)


def test_csv_is_plain_iso_and_empty_for_missing(tiny, tmp_path):
    out = write_dataset(tiny, tmp_path / "ds")
    lines = (out / "meetings.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "coop_id,meeting_type,fiscal_year,held_on,attendees"
    held_on = [line.split(",")[3] for line in lines[1:]]
    assert all(len(d) == 10 and d[4] == "-" and d[7] == "-" for d in held_on)
    assert any(line.endswith(",") for line in lines[1:])  # a missing attendees count is an empty cell
    fin = (out / "financials.csv").read_text(encoding="utf-8").splitlines()[1]
    assert ".0," not in fin and "e+" not in fin  # whole Rupiah, no float noise
    coops = (out / "cooperatives.csv").read_text(encoding="utf-8").splitlines()
    assert coops[1].endswith(",") or coops[1].split(",")[-1].isdigit()  # dissolved_year empty or a year


def test_an_existing_dataset_is_replaced_only_when_the_new_one_is_complete(tiny, tmp_path):
    out = tmp_path / "ds"
    write_dataset(tiny, out)
    (out / "old_note.txt").write_text("from the previous dataset")
    broken = dict(tiny, staffing=tiny["staffing"].assign(members=np.full(len(tiny["staffing"]), 1j)))
    with pytest.raises(Exception):  # noqa: B017 -- whatever the writer raises, the old dataset must survive
        write_dataset(broken, out)  # complex numbers cannot be written: fails halfway through the tables
    assert (out / "old_note.txt").exists()  # the previous dataset is untouched
    assert sorted(os.listdir(tmp_path)) == ["ds"]  # and no partial folder is left behind
    write_dataset(tiny, out)
    assert not (out / "old_note.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_dirty_text_cells_are_written_as_text(tiny, tmp_path):
    from klinik.data.simulator import inject_defects

    dirty, defects = inject_defects(tiny, seed=3)
    for fmt in ("csv", "parquet", "xlsx"):
        out = write_dataset(dirty, tmp_path / fmt, fmt=fmt)
        assert out.is_dir()
    text = next(d for d in defects if d["kind"] == "text_in_number")
    lines = (tmp_path / "csv" / "financials.csv").read_text(encoding="utf-8").splitlines()
    assert text["value"] in lines[text["row"] - 1]  # file row numbers: header is row 1


def test_excel_refuses_a_table_longer_than_a_sheet(tmp_path):
    too_long = pd.DataFrame({"coop_id": np.zeros(EXCEL_MAX_ROWS, dtype=np.int64)})  # + header = one row too many
    with pytest.raises(ValueError, match="meetings has 1,048,576 rows.*--format csv"):
        write_dataset({"meetings": too_long}, tmp_path / "ds", fmt="xlsx")
    assert not os.listdir(tmp_path)


def test_bad_arguments(tiny, tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        write_dataset(tiny, tmp_path / "ds", fmt="json")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        write_dataset(tiny, tmp_path / "file")
