"""``klinik features``: the feature table written atomically as parquet, with its groups in the schema metadata."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from klinik.cli import app
from klinik.features.catalog import FEATURES, feature_groups
from klinik.features.cmd import METADATA_GROUPS, run_features


def test_cli_writes_the_feature_table_with_groups(world_dir, tmp_path):
    out = tmp_path / "out" / "features.parquet"
    result = CliRunner().invoke(app, ["features", "--data", str(world_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "features to" in result.output
    assert [p.name for p in out.parent.iterdir()] == ["features.parquet"]  # no temporary file left behind
    schema = pq.read_schema(out)
    assert json.loads(schema.metadata[METADATA_GROUPS]) == feature_groups()
    catalog = json.loads(schema.metadata[b"feature_catalog"])
    assert catalog["bad_loan_ratio"]["unit"] == "pct" and catalog["bad_loan_ratio"]["group"] == "KEUANGAN"
    rules = json.loads(schema.metadata[b"health_score_rules"])
    assert sum(r["weight"] for r in rules) == 100
    feats = pd.read_parquet(out)
    assert list(feats.columns) == ["coop_id", "year", *FEATURES]
    coops = pd.read_csv(world_dir / "cooperatives.csv")
    assert feats["coop_id"].nunique() <= len(coops) and len(feats) > len(coops)
    # a second run replaces the file in place
    assert run_features(world_dir, out) == 0
    assert pq.read_metadata(out).num_rows == len(feats)


def test_output_must_be_parquet(world_dir, tmp_path, capsys):
    assert run_features(world_dir, tmp_path / "features.csv") == 2
    assert (
        capsys.readouterr().err == f"klinik features: --out must be a .parquet file, got {tmp_path / 'features.csv'}\n"
    )
    assert not list(tmp_path.iterdir())


def test_invalid_data_exits_1_with_the_loaders_report(world_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(world_dir, data)
    fin = pd.read_csv(data / "financials.csv", dtype=str)
    fin.loc[4, "total_assets"] = "banyak"
    fin.to_csv(data / "financials.csv", index=False)
    out = tmp_path / "features.parquet"
    assert run_features(data, out) == 1
    report = capsys.readouterr().err  # like every command but validate, the report of invalid data is an error
    assert "financials" in report and "total_assets" in report and "row 6" in report
    assert report.splitlines()[-1].startswith("klinik features: the dataset")
    assert not out.exists()
