"""The staff page's parts that need no server: Indonesian numbers and dates, the forgiving search, the batch output
as the page reads it, charts, and the small rules of the login (where to go back to, the CSRF check)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from klinik.serving.web import auth, charts, fmt
from klinik.serving.web.store import SearchIndex, read_output
from klinik.serving.web.text import T, status_code, status_label
from klinik.serving.web.views import healthy_band


# ---------------------------------------------------------------- numbers and dates
@pytest.mark.parametrize(
    "value, expected",
    [(0.125, "12,5%"), (0.1, "10%"), (0.4889, "48,9%"), (1.0, "100%"), (0.0, "0%"), (None, "–"), (float("nan"), "–")],
)
def test_percent_in_indonesian(value, expected):
    assert fmt.percent(value) == expected


def test_rupiah_dates_and_numbers_in_indonesian():
    assert fmt.rupiah(1_250_000) == "Rp 1.250.000"
    assert fmt.rupiah(1_250_000.6) == "Rp 1.250.001"
    assert fmt.number(130_000) == "130.000"
    assert fmt.number(75.54, digits=1) == "75,5"
    assert fmt.date(dt.date(2025, 3, 14)) == "14 Maret 2025"
    assert fmt.date("2026-12-01T00:29:25+00:00") == "1 Desember 2026"
    assert fmt.date(pd.Timestamp("2024-08-17")) == "17 Agustus 2024"
    assert fmt.date(pd.NaT) == fmt.date(None) == fmt.date("") == "–"


def test_english_switch_formats_the_english_way():
    assert fmt.percent(0.125, "en") == "12.5%"
    assert fmt.rupiah(1_250_000, "en").replace("\xa0", " ") in ("IDR 1,250,000", "Rp 1,250,000")
    assert fmt.date(dt.date(2025, 3, 14), "en") == "14 March 2025"


def test_a_chance_in_words():
    assert fmt.in_ten(0.31) == "sekitar 3 dari 10"
    assert fmt.in_ten(0.49) == "sekitar 5 dari 10"
    assert fmt.in_ten(0.02) == "kurang dari 1 dari 20"
    assert fmt.in_ten(0.31, "en") == "about 3 in 10"


def test_every_text_has_both_languages_and_no_empty_one():
    for key, pair in T.items():
        assert len(pair) == 2 and all(p.strip() for p in pair), key
        # the same placeholders in both languages, so a switch never fails on a missing value
        import string

        fields = [sorted({f for _, f, _, _ in string.Formatter().parse(p) if f}) for p in pair]
        assert fields[0] == fields[1], key


def test_status_codes_of_both_contract_versions_read_the_same():
    assert status_code("SAKIT_NOW") == status_code("SAKIT") == "SAKIT"
    assert status_label("UNASSESSED") == status_label("BELUM_DINILAI") == "Belum dinilai"


# ---------------------------------------------------------------- search
@pytest.fixture
def index():
    ids = pd.Series(["KOP-000120", "KOP-000012", "KOP-001200", "KOP-000243", "KOP-000005"])
    names = pd.Series(["KUD Artha Prima", "KSP Sedana", "KSU Bumi Artha", "KSP Artha Yasa", "Koperasi Konsumen Dharma"])
    districts = pd.Series(["Tejakula", "Buleleng", "Sawan", "Gerokgak", "Buleleng"])
    types = pd.Series(["KUD", "KSP", "KSU", "KSP", "KONSUMEN"])
    return ids, SearchIndex(ids, names, districts, types, rank=np.array([1, 2, 3, 4, 5]))


@pytest.mark.parametrize("query", ["kop-120", "KOP 120", "KOP-000120", "120", "  kop120 ", "KOP_120"])
def test_short_ids_find_the_one_cooperative(index, query):
    ids, idx = index
    found, n = idx.find(query)
    assert ids[found].tolist()[0] == "KOP-000120"
    assert "KOP-001200" not in ids[found[:1]].tolist()  # 1200 is another number, not a prefix match


@pytest.mark.parametrize("query", ["artha", "ARTHA", " Artha ", "arth", "artha prima", "arthaprima", "prima artha"])
def test_partial_names_any_case_and_spacing(index, query):
    ids, idx = index
    found, _ = idx.find(query)
    assert "KOP-000120" in ids[found].tolist()


def test_every_word_must_be_found_and_filters_narrow(index):
    ids, idx = index
    found, n = idx.find("artha")
    assert n == 3
    assert ids[idx.find("artha yasa")[0]].tolist() == ["KOP-000243"]
    assert ids[idx.find("artha", coop_type="KSP")[0]].tolist() == ["KOP-000243"]
    assert ids[idx.find("artha", district="Tejakula")[0]].tolist() == ["KOP-000120"]
    assert idx.find("", district="Buleleng")[1] == 2
    assert idx.find("zzz")[1] == 0


def test_names_with_a_word_starting_with_the_query_come_first(index):
    ids, idx = index
    # "sed" begins a word of "KSP Sedana"; nothing else holds it
    assert ids[idx.find("sed")[0]].tolist() == ["KOP-000012"]
    # "art" begins "Artha" in three names, all before any name holding it mid-word
    assert set(ids[idx.find("art")[0]].tolist()) == {"KOP-000120", "KOP-001200", "KOP-000243"}


# ---------------------------------------------------------------- the batch output as the page reads it
def _write_output(folder, year, statuses, p_sick, actions, evidence=True):
    folder.mkdir(parents=True)
    ids = [f"KOP-{i:06d}" for i in range(1, len(statuses) + 1)]
    scores = pd.DataFrame(
        {
            "coop_id": ids,
            "as_of_year": year,
            "status": statuses,
            "p_sick_next": p_sick,
            "p_recover": [0.5 if s.startswith("SAKIT") else np.nan for s in statuses],
            "clinic": "KEUANGAN",
            "reasons": "pinjaman bermasalah 12% (40%)",
            "action": actions,
            "rank": range(1, len(ids) + 1),
            "model_version": "koperasi-risk/1,koperasi-recovery/1",
        }
    )
    scores.to_parquet(folder / "scores.parquet", index=False)
    pd.DataFrame(
        {
            "coop_id": ids,
            "position": 1,
            "feature": "bad_loan_ratio",
            "value": 12.0,
            "contribution": 0.4,
            "group": "KEUANGAN",
            "share": 0.4,
            "text_id": "pinjaman bermasalah 12%",
            "text_en": "bad loans 12%",
        }
    ).to_parquet(folder / "reasons.parquet", index=False)
    if evidence:
        pd.DataFrame(
            {
                "coop_id": ids,
                "name": [f"KSP Nomor {i}" for i in range(len(ids))],
                "district": "Buleleng",
                "coop_type": "KSP",
                "health_year": year,
                "health_category": ["DALAM_PENGAWASAN" if s.startswith("SAKIT") else "SEHAT" for s in statuses],
                "health_score": 70.0,
                "score_trend": 0.0,
                "score_change": 0.0,
                "years_sick": 0.0,
                "rat_missed_years": 0.0,
                "reasons_en": "bad loans 12% (40%)",
            }
        ).to_parquet(folder / "evidence.parquet", index=False)
    manifest = {"as_of_year": year, "finished_at": f"{year + 1}-03-14T08:00:00+00:00", "counts": {}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return ids


def test_output_is_read_with_last_years_run_beside_it(tmp_path):
    _write_output(tmp_path / "2023", 2023, ["SEHAT_NOW"] * 3, [0.5, 0.2, 0.1], ["JANGKAU", "PANTAU", "PANTAU"])
    _write_output(
        tmp_path / "2024", 2024, ["SAKIT", "SEHAT", "SEHAT"], [np.nan, 0.3, 0.1], ["BINA", "JANGKAU", "PANTAU"]
    )
    (tmp_path / "latest").symlink_to("2024")
    out = read_output(tmp_path / "latest")
    assert out.as_of_year == 2024
    assert out.previous_folder == (tmp_path / "2023").resolve()
    assert out.row("KOP-000001")[1]["name"] == "KSP Nomor 0"
    assert out.row("KOP-999999") is None
    assert len(out.lists["Bina"]) == 1 and len(out.lists["Jangkau"]) == 1
    assert out.reasons.records("KOP-000002")[0]["text_id"] == "pinjaman bermasalah 12%"
    # last year's run was written under contract v1: its status codes are read as the current contract's
    assert set(out.previous["status"]) == {"SEHAT"}
    # reasons and evidence of an output written before the reasons had kinds and points still fill the lists
    assert out.lists["Jangkau"]["Alasan risiko (bidang klinik dulu)"].tolist() == ["pinjaman bermasalah 12%"]
    assert out.lists["Bina"]["Penghambat pemulihan"].tolist() == ["tidak ada penghambat yang menonjol"]


def test_an_output_written_before_evidence_existed_still_opens(tmp_path):
    _write_output(tmp_path / "2024", 2024, ["SEHAT"] * 2, [0.3, 0.1], ["JANGKAU", "PANTAU"], evidence=False)
    out = read_output(tmp_path / "2024")
    assert not out.has_evidence
    assert out.index.find("kop-1")[1] == 1  # ids still found


# ---------------------------------------------------------------- charts and bands
def test_a_chart_is_svg_with_a_description_and_no_outside_reference():
    svg = charts.line_chart([(2020, 10.0), (2021, 12.5), (2022, 14.0)], "Pinjaman bermasalah", "pct", "id", (0, 10))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "2022 14%" in svg and "12,5%" in svg
    assert "http" not in svg
    assert "tidak ada data" in charts.line_chart([], "Kas", "pct")


def test_healthy_bands_come_from_the_offices_scoring_table():
    lo, hi = healthy_band("bad_loan_ratio")
    assert lo == 0 and 5 <= hi <= 20
    assert healthy_band("no_such_ratio") is None


# ---------------------------------------------------------------- login rules
@pytest.mark.parametrize(
    "target, expected",
    [
        ("/koperasi/KOP-000120", "/koperasi/KOP-000120"),
        ("/cari?q=artha", "/cari?q=artha"),
        ("https://elsewhere.example/", "/"),
        ("//elsewhere.example/x", "/"),
        ("/\\elsewhere", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_login_only_a_path_of_this_site(target, expected):
    assert auth.safe_next(target) == expected


def test_csrf_token_must_match_the_sessions():
    session: dict = {}
    token = auth.csrf_token(session)
    assert auth.csrf_ok(session, token)
    assert not auth.csrf_ok(session, token + "x")
    assert not auth.csrf_ok(session, None)
    assert not auth.csrf_ok(session, "\x80" + token[1:])  # beyond ASCII: refused, not a TypeError
    assert not auth.csrf_ok({}, token)
    auth.start_session(session, "ani", "petugas")
    assert session["user"] == "ani" and not auth.csrf_ok(session, token)  # a new token after login


def test_session_key_is_made_once_and_kept_private(tmp_path):
    key = auth.session_key(tmp_path)
    assert len(key) >= 40 and auth.session_key(tmp_path) == key
    assert (tmp_path / auth.KEY_FILE).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("task", ["risk", "recovery"])
def test_model_figures_in_plain_words(task, lang):
    from klinik.serving.web.views import model_words

    info = {"metrics": {"roc_auc": 0.852, "precision_at_k": 0.24, "recall_at_k": 0.5, "ece": 0.017}}
    words = model_words(task, info, lang)
    assert len(words) == 4
    assert any("85%" in w for w in words) and any(" 2 " in w for w in words)
    rough = model_words(task, {"metrics": {"ece": 0.13}}, lang)
    assert "13" in rough[0] and ("urutan" in rough[0] if lang == "id" else "order" in rough[0])
    assert model_words(task, {"metrics": {}}, lang) == []
