"""``klinik features --data DIR --out FILE.parquet``: the point-in-time feature table, for the data team.

The parquet file carries its own documentation in the schema metadata (JSON values):
  feature_groups      feature -> KEUANGAN / SDM / KELEMBAGAAN / CONTEXT
  feature_catalog     feature -> labels (id, en), unit, risk_direction, change_of
  health_score_rules  the scoring table of features/health_score.py (aspect, ratio, weight, bands, source)
  klinik_features     where it came from: dataset folder, years, rows, cooperatives
The file is written to a temporary name in the same folder and renamed into place (data/atomic.py), so a reader
never sees half a file. How it ends (klinik/cli.py): 0 written, 1 the dataset breaks the contract (the loader's
full report on stderr), 2 a usage error (the output is not a .parquet path).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from klinik.commands import EXIT_USAGE, CommandFailed, DataRefused, command

METADATA_GROUPS = b"feature_groups"


def feature_metadata(features: pd.DataFrame, source: str) -> dict[bytes, bytes]:
    """The schema metadata written beside the feature table (see the module docstring)."""
    from klinik.features.catalog import FEATURES, feature_groups
    from klinik.features.health_score import rules_table

    catalog = {
        name: {
            k: v
            for k, v in asdict(spec).items()
            if k in ("label_id", "label_en", "unit", "risk_direction", "change_of", "group")
        }
        for name, spec in FEATURES.items()
    }
    years = sorted(int(y) for y in features["year"].unique())
    about = {
        "source": source,
        "rows": len(features),
        "cooperatives": int(features["coop_id"].nunique()),
        "years": [years[0], years[-1]] if years else [],
    }
    return {
        METADATA_GROUPS: json.dumps(feature_groups()).encode(),
        b"feature_catalog": json.dumps(catalog, ensure_ascii=False).encode(),
        b"health_score_rules": json.dumps(rules_table()).encode(),
        b"klinik_features": json.dumps(about).encode(),
    }


def write_features(features: pd.DataFrame, out: Path, source: str = "") -> None:
    """Write the feature table to ``out`` (parquet) atomically, with the metadata of feature_metadata()."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from klinik.data.atomic import atomic_file

    table = pa.Table.from_pandas(features, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **feature_metadata(features, source)})
    with atomic_file(out) as tmp:
        pq.write_table(table, tmp)


@command("features")
def run_features(data_dir: Path, out: Path) -> int:
    """Load ``data_dir`` (health optional), build every (cooperative, year) row, write ``out``."""
    from klinik.data.loader import load_dataset
    from klinik.data.validation import DatasetInvalid
    from klinik.features.build import build_features
    from klinik.settings import get_settings

    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise CommandFailed(f"--out must be a .parquet file, got {out}", EXIT_USAGE)
    try:
        ds = load_dataset(Path(data_dir), require_health=False)
    except DatasetInvalid as err:
        raise DataRefused(err.report(), f"the dataset {data_dir} failed validation; {out} was not written") from None
    features = build_features(ds, get_settings())
    write_features(features, out, source=str(data_dir))
    n_features = features.shape[1] - 2
    print(
        f"wrote {len(features):,} rows ({features['coop_id'].nunique():,} cooperatives, "
        f"{features['year'].min()}-{features['year'].max()}) x {n_features} features to {out}"
    )
    return 0
