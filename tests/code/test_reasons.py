"""Reasons: facts judged against a yardstick, one sentence per fact, the clinic's area first, points a person reads.

Each test is one kind of mistake a reader would catch: a reason that says the opposite of the truth, the same fact
twice, good news given as a reason for risk, a number nobody can read, a clinic at odds with its reasons.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from klinik.features.catalog import FEATURES
from klinik.models.facts import BANDS, FACT_GROUP, HARM, HEALTHY, WARNING_SIGN_FACTS, attributions, words
from klinik.models.reasons import REASON_COLUMNS, reasons_for, reasons_text, top_reasons

IDS = pd.Index(["K1", "K2", "K3", "K4"], name="coop_id")


def frame(rows: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame({"coop_id": IDS, "year": 2024, **rows}, index=IDS)


def contributions(values: dict[str, list], bias: float = -2.0) -> pd.DataFrame:
    return pd.DataFrame({**values, "bias": [bias] * len(IDS)}, index=IDS)


def test_missing_data_is_one_reason_however_many_values_it_leaves_unknown():
    feats = frame(
        {
            "no_financial_statement": [1.0, 0.0, 0.0, 0.0],
            "bad_loan_ratio": [np.nan, 3.0, 0.5, 0.5],
            "equity_to_assets": [np.nan, 50.0, 50.0, 50.0],
            "return_on_assets": [np.nan, 12.0, 12.0, 12.0],
        }
    )
    c = contributions(
        {
            "no_financial_statement": [0.3, 0.0, 0.0, 0.0],
            "bad_loan_ratio": [0.2, 0.0, 0.0, 0.0],
            "equity_to_assets": [0.2, 0.0, 0.0, 0.0],
            "return_on_assets": [0.1, 0.0, 0.0, 0.0],
        }
    )
    r = top_reasons(c, feats, n=3)
    k1 = r.loc[r["coop_id"] == "K1"]
    assert list(k1["fact"]) == ["no_fs"]  # four contributions, one fact
    assert k1["contribution"].iloc[0] == pytest.approx(0.8)
    assert k1["text_id"].iloc[0] == "laporan keuangan 2024 tidak ada, jadi rasio keuangannya tidak dapat dihitung"
    assert "pembagi" not in " ".join(r["text_id"])


def test_a_level_in_the_healthy_band_and_a_change_toward_it_are_never_reasons_for_risk():
    # K1: risky loans 10% (healthy: at most 20%) after a fall of 31 points -- the model may still push up on
    # both, but neither is a reason a person can act on; K2: bad loans 14% and rising: a reason, with its band
    feats = frame(
        {
            "risky_loan_ratio": [10.0, 5.0, 5.0, 5.0],
            "risky_loan_ratio_chg1": [-31.0, 0.0, 0.0, 0.0],
            "bad_loan_ratio": [0.5, 14.0, 0.5, 0.5],
            "bad_loan_ratio_chg1": [0.0, 4.9, 0.0, 0.0],
        }
    )
    c = contributions(
        {
            "risky_loan_ratio": [0.4, 0.0, 0.0, 0.0],
            "risky_loan_ratio_chg1": [0.3, 0.0, 0.0, 0.0],
            "bad_loan_ratio": [0.0, 0.5, 0.0, 0.0],
            "bad_loan_ratio_chg1": [0.0, 0.2, 0.0, 0.0],
        }
    )
    r = top_reasons(c, feats, n=3)
    assert (r["coop_id"] == "K1").sum() == 0
    k2 = r.loc[r["coop_id"] == "K2"].iloc[0]
    assert k2["text_id"] == "pinjaman bermasalah 14% (batas sehat: paling tinggi 1%), naik 4,9 poin dalam setahun"
    assert k2["label_id"] == "pinjaman bermasalah di atas batas sehat"
    assert k2["contribution"] == pytest.approx(0.7)  # the level and its change: one fact


@pytest.mark.parametrize("base", sorted(b for b in BANDS if f"{b}_chg1" in FEATURES and b != "official_score"))
def test_every_change_said_for_risk_moves_away_from_the_healthy_band(base):
    """For every banded ratio and every level and change, a risk reason says only a change toward unhealthy."""
    band = BANDS[base]
    levels = [-50.0, 0.5, 5.0, 12.0, 30.0, 50.0, 70.0, 120.0, 200.0]
    rows = {base: [], f"{base}_chg1": []}
    for level in levels:
        for change in (-5.0, 5.0):
            rows[base].append(level)
            rows[f"{base}_chg1"].append(change)
    n = len(rows[base])
    feats = pd.DataFrame({"coop_id": [f"K{i}" for i in range(n)], "year": 2024, **rows})
    feats.index = feats["coop_id"]
    c = pd.DataFrame({base: 0.0, f"{base}_chg1": 0.5, "bias": -2.0}, index=feats.index)
    r = top_reasons(c, feats, n=3)
    for _, reason in r.iterrows():
        level = feats.loc[reason["coop_id"], base]
        rising = feats.loc[reason["coop_id"], f"{base}_chg1"] > 0
        side = band.side(level)
        if band.low is not None and band.high is not None:
            assert side != "in" and rising == (side == "over"), reason["text_id"]
        else:
            assert rising == (band.low is None), reason["text_id"]
        assert ("naik" in reason["text_id"]) == rising and ("turun" in reason["text_id"]) == (not rising)


def test_warning_signs_are_said_as_the_signs_they_count_never_as_a_share():
    feats = frame(
        {
            "weakness_sdm": [50.0, 0.0, 0.0, 0.0],
            "has_manager": [0.0, 1.0, 1.0, 1.0],
            "staff_departure_rate": [10.0, 0.0, 0.0, 0.0],
            "staff_departures": [1.0, 0.0, 0.0, 0.0],
            "trained_share": [0.0, 20.0, 20.0, 20.0],
            "no_staffing_report": [0.0, 0.0, 0.0, 0.0],
        }
    )
    c = contributions({"weakness_sdm": [0.4, 0.0, 0.0, 0.0], "has_manager": [0.1, 0.0, 0.0, 0.0]})
    r = top_reasons(c, feats, n=3)
    k1 = r.loc[r["coop_id"] == "K1"]
    assert list(k1["fact"]) == ["manager", "training"]  # the two signs shown, each once
    assert k1["contribution"].tolist() == pytest.approx([0.3, 0.2])  # 0.1 + half of 0.4; half of 0.4
    assert not any("tanda kelemahan" in t or "%" in t for t in k1["text_id"])


def test_the_chosen_clinics_area_comes_first():
    feats = frame(
        {
            "net_loss": [1.0, 1.0, 0.0, 0.0],
            "has_manager": [0.0, 0.0, 1.0, 1.0],
            "rat_held": [1.0, 0.0, 1.0, 1.0],
            "rat_missed_years": [0.0, 1.0, 0.0, 0.0],
        }
    )
    c = contributions(
        {"net_loss": [0.6, 0.6, 0, 0], "has_manager": [0.2, 0.2, 0, 0], "rat_missed_years": [0, 0.1, 0, 0]}
    )
    r = top_reasons(c, feats, n=2, clinic=np.array(["SDM", "KELEMBAGAAN", "KEUANGAN", "KEUANGAN"], dtype=object))
    assert r.loc[r["coop_id"] == "K1", "group"].tolist() == ["SDM", "KEUANGAN"]
    assert r.loc[r["coop_id"] == "K2", "group"].tolist() == ["KELEMBAGAAN", "KEUANGAN"]
    assert (
        r.loc[r["coop_id"] == "K2", "text_id"].iloc[0] == "RAT tahun buku 2024 belum diadakan sampai batas waktu dinas"
    )


def test_points_are_what_the_fact_adds_to_the_probability_and_small_ones_are_not_reasons():
    feats = frame({"net_loss": [1.0, 1.0, 1.0, 0.0], "negative_equity": [1.0, 1.0, 1.0, 0.0]})
    c = contributions({"net_loss": [0.6, 0.6, 0.01, 0.0], "negative_equity": [0.3, 0.3, 0.0, 0.0]})
    p = np.array([0.45, np.nan, 0.45, 0.05])
    r = top_reasons(c, feats, n=3, probability=p, slope=1.3)
    k1 = r.loc[r["coop_id"] == "K1"]
    assert k1["points"].iloc[0] == pytest.approx(100 * (0.45 - expit(logit(0.45) - 1.3 * 0.6)))
    assert (k1["points"] > 0).all()
    assert r.loc[r["coop_id"] == "K2", "points"].isna().all()  # no probability (a sick cooperative): no points
    assert (r["coop_id"] == "K3").sum() == 0  # under half a point: nothing stands out
    text = reasons_text(r, IDS)
    assert re.fullmatch(
        r"koperasi merugi \(SHU 2024 negatif\) \(\+\d+ poin\); modal sendiri negatif \(\+\d+ poin\)", text["K1"]
    )
    assert text["K2"] == "koperasi merugi (SHU 2024 negatif); modal sendiri negatif"
    assert text["K3"] == text["K4"] == "tidak ada faktor risiko yang menonjol"


def test_recovery_reasons_say_what_holds_it_back_and_what_helps():
    feats = frame(
        {
            "clinic_case_open": [1.0, 0.0, 1.0, 1.0],
            "clinic_keuangan": [1.0, 0.0, 0.0, 0.0],
            "years_sick": [3.0, 1.0, 1.0, 1.0],
        }
    )
    c = contributions({"clinic_case_open": [0.5, -0.4, 0, 0], "years_sick": [-0.6, 0.3, 0, 0]})
    p = np.array([0.5, 0.5, 0.5, 0.5])
    hinders = top_reasons(c, feats, kind="recovery_hinders", probability=p)
    helps = top_reasons(c, feats, kind="recovery_helps", probability=p)
    assert hinders.set_index("coop_id")["text_id"].to_dict() == {
        "K1": "sudah 3 tahun berturut-turut dalam pengawasan",
        "K2": "tidak sedang ditangani klinik",
    }
    assert helps.set_index("coop_id")["text_id"].to_dict() == {
        "K1": "sedang ditangani klinik Keuangan",
        "K2": "baru 1 tahun dalam pengawasan",
    }
    assert (hinders["points"] < 0).all() and (helps["points"] > 0).all()
    assert (hinders["contribution"] < 0).all() and (helps["contribution"] > 0).all()
    assert reasons_text(hinders, IDS, kind="recovery_hinders")["K3"] == "tidak ada penghambat yang menonjol"


def test_structured_reasons_for_the_service():
    feats = frame({"net_loss": [1.0, 0.0, 0.0, 0.0]})
    r = top_reasons(contributions({"net_loss": [0.5, 0, 0, 0]}), feats)
    assert tuple(r.columns) == REASON_COLUMNS
    one = reasons_for(r, "K1")
    assert [x["fact"] for x in one] == ["net_loss"] and one[0]["points"] is None
    assert set(one[0]) == set(REASON_COLUMNS) - {"coop_id", "position"}


def test_every_fact_says_what_the_value_is_in_both_states():
    """Every fact a feature can lead to has words in each state it can take; its label never repeats a measure's
    neutral name and does not change with the value (reasons are counted by label: at most one per side of a
    band)."""
    names = list(FEATURES)
    n = 6
    # values that put every flag, count and ratio on both sides of its yardstick
    grid = {name: [0.0, 1.0, 3.0, 30.0, 80.0, 200.0] for name in names if FEATURES[name].unit != "category"}
    feats = pd.DataFrame({"coop_id": [f"K{i}" for i in range(n)], "year": 2024, **grid})
    feats["health_category_rank"] = feats["prev_health_category_rank"] = [0.0, 1.0, 2.0, 3.0, 3.0, 2.0]
    feats["official_category_rank"] = [0.0, 1.0, 2.0, 3.0, 3.0, 2.0]
    neutral = {s.label_id for s in FEATURES.values()} | {s.label_en for s in FEATURES.values()}
    labels: dict[tuple, set] = {}
    for a in attributions(feats, names):
        for i in range(n):
            if a.weight[i] > 0 and a.state[i] in (HARM, HEALTHY):
                label_id, text_id, label_en, text_en = words(a.key, int(a.state[i]), feats.iloc[i], {a.member})
                assert text_id and text_en and label_id and label_en, a.key
                assert label_id not in neutral and label_en not in neutral, (a.key, label_id)
                labels.setdefault((a.key, int(a.state[i]), a.member), set()).add(label_id)
    assert all(len(found) <= 2 for found in labels.values()), {k: v for k, v in labels.items() if len(v) > 2}
    keys = {key for key, _, _ in labels}
    assert keys >= {k for k in FACT_GROUP if not k.endswith("_prev")} - {"balance_gap", "rat_late", "no_weak_sdm"}


def test_the_warning_signs_are_those_the_features_count(world):
    """WARNING_SIGN_FACTS recounts each weakness_<clinic> feature of a real feature table exactly."""
    from klinik.features.build import build_features
    from klinik.settings import get_settings

    feats = build_features(world, get_settings(), years=[2023, 2024])

    def col(name):
        return feats[name].to_numpy(dtype=float)

    for clinic, signs in WARNING_SIGN_FACTS.items():
        with np.errstate(invalid="ignore"):
            stacked = np.stack([np.where(np.isnan(col(m)), np.nan, test(col)) for _, m, test in signs])
        readable = (~np.isnan(stacked)).sum(axis=0)
        share = np.where(readable > 0, 100.0 * np.nansum(stacked, axis=0) / np.maximum(readable, 1), np.nan)
        np.testing.assert_allclose(share, col(f"weakness_{clinic.lower()}"), equal_nan=True)
