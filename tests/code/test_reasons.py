"""Reasons: the top risk-raising contributions of clinic features, their shares, and their words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klinik.features.catalog import FEATURES, describe
from klinik.models.reasons import NO_REASON_EN, NO_REASON_ID, REASON_COLUMNS, reasons_for, reasons_text, top_reasons


@pytest.fixture()
def frames():
    ids = pd.Index(["K1", "K2", "K3"], name="coop_id")
    contribs = pd.DataFrame(
        {
            "bad_loan_ratio": [0.8, -0.2, 0.0],
            "bad_loan_ratio_chg1": [0.1, 0.0, 0.0],
            "rat_missed_years": [0.4, 0.3, -0.1],
            "has_manager": [0.2, 0.0, -0.2],
            "trained_share": [0.05, 0.0, 0.0],
            "district": [0.5, 0.6, 0.0],  # CONTEXT: counts in the share, never a reason
            "bias": [-2.0, -2.0, -2.0],
        },
        index=ids,
    )
    feats = pd.DataFrame(
        {
            "coop_id": ids,
            "year": 2024,
            "bad_loan_ratio": [18.0, 3.0, 1.0],
            "bad_loan_ratio_chg1": [9.0, 0.0, 0.0],
            "rat_missed_years": [2.0, 3.0, 0.0],
            "has_manager": [0.0, 1.0, 1.0],
            "trained_share": [5.0, 20.0, 30.0],
            "district": ["Seririt", "Banjar", "Gerokgak"],
            "no_financial_statement": [0.0, 0.0, 0.0],
        },
        index=ids,
    )
    return ids, contribs, feats


def test_top_reasons_structure_order_and_shares(frames):
    ids, contribs, feats = frames
    r = top_reasons(contribs, feats, n=3)
    assert tuple(r.columns) == REASON_COLUMNS
    k1 = r.loc[r["coop_id"] == "K1"]
    assert list(k1["feature"]) == ["bad_loan_ratio", "rat_missed_years", "has_manager"]
    assert list(k1["position"]) == [1, 2, 3]
    positive = 0.8 + 0.1 + 0.4 + 0.2 + 0.05 + 0.5  # every positive feature contribution, district included
    np.testing.assert_allclose(k1["share"], [0.8 / positive, 0.4 / positive, 0.2 / positive])
    assert list(k1["group"]) == ["KEUANGAN", "KELEMBAGAAN", "SDM"]
    assert k1["value"].iloc[0] == 18.0
    row = feats.iloc[0].to_dict()
    assert (k1["text_id"].iloc[0], k1["text_en"].iloc[0]) == describe("bad_loan_ratio", row)
    assert "18%" in k1["text_id"].iloc[0] and "naik" in k1["text_id"].iloc[0]
    # K2: only one positive clinic feature; the district's push is no reason; negatives never are
    k2 = r.loc[r["coop_id"] == "K2"]
    assert list(k2["feature"]) == ["rat_missed_years"]
    assert k2["share"].iloc[0] == pytest.approx(0.3 / 0.9)
    assert "3 tahun" in k2["text_id"].iloc[0]
    # K3: nothing raises the risk
    assert (r["coop_id"] == "K3").sum() == 0
    assert not r["feature"].map(lambda f: FEATURES[f].group == "CONTEXT").any()


def test_reasons_text_and_structured(frames):
    ids, contribs, feats = frames
    r = top_reasons(contribs, feats, n=2)
    text = reasons_text(r, ids, lang="id")
    assert list(text.index) == list(ids)
    first = r.loc[r["coop_id"] == "K1", "text_id"].tolist()
    assert text["K1"] == f"{first[0]} (39%); {first[1]} (20%)"  # 0.8 / 2.05 and 0.4 / 2.05
    assert text["K3"] == NO_REASON_ID
    assert reasons_text(r, ids, lang="en")["K3"] == NO_REASON_EN
    structured = reasons_for(r, "K1")
    assert [x["feature"] for x in structured] == ["bad_loan_ratio", "rat_missed_years"]
    assert set(structured[0]) == {"feature", "value", "contribution", "group", "share", "text_id", "text_en"}
    assert isinstance(structured[0]["share"], float) and isinstance(structured[0]["text_en"], str)
    assert reasons_for(r, "K3") == []
