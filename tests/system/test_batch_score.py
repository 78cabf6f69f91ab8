"""`klinik score` end to end on the shared simulated world with models from the shared trained registry.

Every output file is checked against the contract and against the other outputs; then what must hold when
things go wrong: a dataset that fails validation stops the run before any model is loaded, a run killed midway
leaves the previous output whole, and the same inputs give the same scores.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klinik.data.contract import ACTIONS_HEALTHY, ACTIONS_SICK, CLINICS, SCORE_COLUMNS, STATUSES
from klinik.models.policy import outreach_capacity

pytestmark = pytest.mark.slow

AS_OF = 2024
KLINIK = str(Path(sys.executable).with_name("klinik"))


def score(data: Path, out: Path, as_of: int = AS_OF, **kw) -> int:
    from klinik.serving.cmd import run_score

    return run_score(data, as_of, out, quiet=True, **kw)


def files_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def run(store, world_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "scores" / str(AS_OF)
    assert score(world_dir, out) == 0
    return out


@pytest.fixture(scope="module")
def scores(run) -> pd.DataFrame:
    return pd.read_csv(run / "scores.csv", dtype={"coop_id": str})


def test_scores_follow_the_contract(run, scores, world, store):
    from klinik.features.build import registered_coop_years
    from klinik.features.labels import make_labels

    assert tuple(scores.columns) == SCORE_COLUMNS
    expected = set(registered_coop_years(world, [AS_OF])["coop_id"])
    assert set(scores["coop_id"]) == expected and scores["coop_id"].is_unique
    assert (scores["as_of_year"] == AS_OF).all()
    assert set(scores["status"]) <= set(STATUSES) and set(scores["clinic"]) <= set(CLINICS)
    sick = scores["status"] == "SAKIT"
    assert sick.any() and (~sick).any()
    # p_sick_next empty exactly for the sick, p_recover exactly for the not sick
    assert scores.loc[sick, "p_sick_next"].isna().all() and scores.loc[~sick, "p_sick_next"].notna().all()
    assert scores.loc[~sick, "p_recover"].isna().all() and scores.loc[sick, "p_recover"].notna().all()
    assert scores[["p_sick_next", "p_recover"]].stack().dropna().between(0, 1).all()
    assert set(scores.loc[sick, "action"]) <= set(ACTIONS_SICK)
    assert set(scores.loc[~sick, "action"]) <= set(ACTIONS_HEALTHY)
    # status is the labels' status at as_of (latest assessment, at most status_max_age_years old)
    labels = make_labels(world, store.settings)
    want = labels.loc[labels["year"] == AS_OF].set_index("coop_id")["status"].to_dict()
    assert scores.set_index("coop_id")["status"].to_dict() == want
    # rank: 1..N in file order, the outreach list first and within the clinic's capacity
    assert list(scores["rank"]) == list(range(1, len(scores) + 1))
    jangkau = scores["action"] == "JANGKAU"
    capacity = outreach_capacity(len(scores), store.settings)
    assert 0 < jangkau.sum() <= capacity
    assert list(scores.loc[jangkau, "rank"]) == list(range(1, jangkau.sum() + 1))
    assert (scores.loc[jangkau, "p_sick_next"] >= store.settings.jangkau_threshold).all()
    # reasons in words, each of a cooperative not sick now with the points it adds to p_sick_next
    parts = scores.loc[~sick, "reasons"].str.split("; ").explode()
    said = parts.loc[parts != "tidak ada faktor risiko yang menonjol"]
    assert len(said) and said.str.fullmatch(r".+ \((\+\d+ poin|kurang dari 1 poin)\)").all()
    # model_version names the champions actually in the registry
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store.tracking_uri)
    s = store.settings
    champions = [
        f"{n}/{client.get_model_version_by_alias(n, 'champion').version}"
        for n in (s.risk_model_name, s.recovery_model_name)
    ]
    assert set(scores["model_version"]) == {",".join(champions)}
    # the parquet holds the same table, typed
    parquet = pd.read_parquet(run / "scores.parquet")
    assert tuple(parquet.columns) == SCORE_COLUMNS
    assert parquet["rank"].dtype == np.int64 and parquet["p_sick_next"].dtype == np.float64
    pd.testing.assert_frame_equal(
        parquet.astype({"coop_id": object}),
        scores.astype({"coop_id": object}),
        check_dtype=False,
        check_exact=False,
        rtol=1e-12,
    )


def test_workbook_lists(run, scores, store):
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(run / f"klinik-koperasi-{AS_OF}.xlsx")
    assert wb.sheetnames == [
        "Petunjuk",
        "Jangkau",
        "Berikutnya",
        "Bina",
        "Pantau Ketat",
        "Pertimbangan Pembubaran",
        "Semua Koperasi",
    ]
    guide = " ".join(str(c.value) for row in wb["Petunjuk"].iter_rows() for c in row if c.value is not None)
    assert "bukan keputusan" in guide
    for sheet, action in (
        ("Jangkau", "JANGKAU"),
        ("Bina", "BINA"),
        ("Pantau Ketat", "PANTAU_KETAT"),
        ("Pertimbangan Pembubaran", "PERTIMBANGKAN_PEMBUBARAN"),
    ):
        ws = wb[sheet]
        assert ws.freeze_panes == "A2"
        header = [c.value for c in ws[1]]
        assert {"ID koperasi", "Nama koperasi", "Kecamatan", "Klinik", "Keputusan petugas"} <= set(header)
        assert {"Alasan risiko (bidang klinik dulu)", "Penyebab sakit (bidang klinik dulu)"} & set(header)
        body = pd.DataFrame(list(ws.iter_rows(min_row=2, values_only=True)), columns=header)
        want = scores.loc[scores["action"] == action]
        ids = body["ID koperasi"].dropna()
        assert sorted(ids[ids.str.startswith("KOP")] if len(ids) else ids) == sorted(want["coop_id"]), sheet
        assert all(
            ws.column_dimensions[get_column_letter(j)].width >= max(len(w) for w in h.split())  # headers fit
            for j, h in enumerate(header, start=1)
        )
        for name in ("Peluang sakit tahun depan", "Peluang pulih (2 tahun)"):
            if name in header and ws.max_row > 1 and ws["A2"].value != "Tidak ada koperasi dalam daftar ini tahun ini.":
                cell = ws.cell(row=2, column=header.index(name) + 1)
                assert cell.number_format == "0.0%" and 0 <= cell.value <= 1
    jangkau = pd.DataFrame(
        list(wb["Jangkau"].iter_rows(min_row=2, values_only=True)), columns=[c.value for c in wb["Jangkau"][1]]
    )
    assert list(jangkau["Urutan"]) == sorted(jangkau["Urutan"]) and jangkau["Urutan"].iloc[0] == 1
    assert len(jangkau) <= outreach_capacity(len(scores), store.settings)
    closure_header = [c.value for c in wb["Pertimbangan Pembubaran"][1]]
    assert {
        "Lama sakit (tahun)",
        "Tahun tanpa RAT berturut-turut",
        "Peluang pulih (2 tahun)",
        "Tren skor kesehatan (3 tahun)",
    } <= set(closure_header)


def test_every_file_carries_the_interval(run, scores, store):
    """Each probability with its 80% interval in the Scores table, the workbook and the report; the closure list by
    the interval's upper end; an interval that straddles a line says the estimate is uncertain."""
    from openpyxl import load_workbook

    s = store.settings
    for p in ("p_sick_next", "p_recover"):
        lo, hi, mid = scores[f"{p}_lo"], scores[f"{p}_hi"], scores[p]
        assert (lo.isna() == mid.isna()).all() and (hi.isna() == mid.isna()).all()
        known = mid.notna()
        assert known.any() and ((lo[known] <= mid[known]) & (mid[known] <= hi[known]) & (lo[known] < hi[known])).all()
    evidence = pd.read_parquet(run / "evidence.parquet").set_index("coop_id").loc[scores["coop_id"]]
    joined = scores.set_index("coop_id").join(evidence[["certainty", "certainty_en", "years_sick", "rat_missed_years"]])
    closure = joined[joined["action"] == "PERTIMBANGKAN_PEMBUBARAN"]
    lapsed = (closure["rat_missed_years"] >= s.inactive_years_without_rat) & (closure["clinic"] == "KELEMBAGAAN")
    assert ((closure["p_recover_hi"] < s.closure_recover_threshold) | lapsed).all()
    said = joined["certainty"].fillna("") != ""
    assert (joined.loc[said, "status"] == "SAKIT").all()
    lines = (s.closure_recover_threshold, s.bina_threshold)
    straddles = np.zeros(len(joined), dtype=bool)
    for line in lines:
        straddles |= (joined["p_recover_lo"] < line).to_numpy() & (joined["p_recover_hi"] >= line).to_numpy()
    assert not (said.to_numpy() & ~straddles).any()  # it speaks only where a line is straddled
    assert joined.loc[said, "certainty"].str.startswith("Perkiraan belum pasti").all()
    assert joined.loc[said, "certainty_en"].str.startswith("The estimate is uncertain").all()

    wb = load_workbook(run / f"klinik-koperasi-{AS_OF}.xlsx", read_only=True)
    rows = list(wb["Semua Koperasi"].iter_rows(values_only=True))
    sheet = pd.DataFrame(rows[1:], columns=rows[0]).set_index("ID koperasi")
    for p, name in (("p_sick_next", "Peluang sakit"), ("p_recover", "Peluang pulih")):
        for end, word in (("lo", "bawah"), ("hi", "atas")):
            cells = sheet[f"{name}: batas {word} kisaran 80%"].astype(float)
            np.testing.assert_allclose(cells.loc[scores["coop_id"]], scores[f"{p}_{end}"], rtol=1e-9)
    sick_header = list(wb["Pantau Ketat"].iter_rows(max_row=1, values_only=True))[0]
    assert {"Peluang pulih: batas atas kisaran 80%", "Kepastian perkiraan"} <= set(sick_header)
    guide = " ".join(str(c) for row in wb["Petunjuk"].iter_rows(values_only=True) for c in row if c is not None)
    assert "Kisaran 80%" in guide

    page = _Page()
    page.feed((run / "report.html").read_text(encoding="utf-8"))
    text = " ".join(page.text)
    first = scores.loc[scores["p_sick_next"].notna()].iloc[0]
    lo, hi = (round(100 * first[f"p_sick_next_{e}"]) for e in ("lo", "hi"))
    assert f"kisaran 80%: {lo}–{hi}%" in text  # the outreach list's first row, with its range


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("href", "src"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])

    def handle_data(self, data):
        self.text.append(data)


def test_report_is_one_self_contained_page(run):
    import base64

    page = _Page()
    page.feed((run / "report.html").read_text(encoding="utf-8"))
    page.close()
    assert len(page.images) >= 4 and not page.links  # nothing to fetch from elsewhere
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    text = " ".join(page.text)
    assert "bukan keputusan" in text and str(AS_OF) in text


def test_manifest_is_the_audit_record(run, scores, world_dir, store):
    from klinik.serving.manifest import hash_inputs

    m = json.loads((run / "manifest.json").read_text())
    s = store.settings
    assert m["models"]["risk"]["name"] == s.risk_model_name and m["models"]["recovery"]["name"] == s.recovery_model_name
    assert m["models"]["model_version"] == scores["model_version"].iloc[0]
    assert m["models"]["risk"]["run_id"] and m["models"]["recovery"]["version"]
    assert m["input"]["sha256"] == hash_inputs(world_dir)["sha256"]
    assert {f["path"] for f in m["input"]["files"]} >= {"cooperatives.csv", "financials.csv"}
    assert m["counts"]["scored"] == len(scores)
    assert m["counts"]["by_action"] == scores["action"].value_counts().sort_index().to_dict()
    assert m["counts"]["by_status"] == scores["status"].value_counts().sort_index().to_dict()
    assert m["counts"]["by_clinic"] == scores["clinic"].value_counts().sort_index().to_dict()
    assert m["arguments"] == {
        "data": str(world_dir),
        "as_of": AS_OF,
        "out": str(run),
        "model_version": None,
        "quiet": True,
    }
    assert m["started_at"] <= m["finished_at"]
    assert m["settings"]["jangkau_threshold"] == s.jangkau_threshold and "api_key" not in m["settings"]
    for entry in m["outputs"]:
        assert hashlib.sha256((run / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    assert {e["file"] for e in m["outputs"]} | {"manifest.json"} == {p.name for p in run.iterdir()}


def test_same_inputs_same_scores(run, world_dir, store, tmp_path):
    again = tmp_path / "again"
    assert score(world_dir, again) == 0
    assert (again / "scores.csv").read_bytes() == (run / "scores.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(again / "reasons.parquet"), pd.read_parquet(run / "reasons.parquet"))
    first, second = (json.loads((d / "manifest.json").read_text()) for d in (run, again))
    for key in ("counts", "models", "input"):
        assert first[key] == second[key]


def test_invalid_data_stops_before_any_model_is_loaded(run, world_dir, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(world_dir, bad)
    fin = pd.read_csv(bad / "financials.csv")
    fin.loc[4, "cash"] = -5.0  # the contract: cash >= 0
    fin.to_csv(bad / "financials.csv", index=False)
    out = tmp_path / "out"
    shutil.copytree(run, out)
    before = files_digest(out)
    # an empty store: had the run reached the models it would have ended with 3 (no model), not 1
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    assert score(bad, out) == 1
    err = capsys.readouterr().err
    assert "financials.csv row 6, column cash" in err  # file, row as seen in the file (header is row 1), column
    assert files_digest(out) == before
    assert not (tmp_path / "empty.db").exists()  # the registry was never opened
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_no_model_and_bad_arguments(world_dir, tmp_path, store, monkeypatch):
    assert score(world_dir, tmp_path / "a", as_of=2031) == 2
    assert score(world_dir, tmp_path / "b", model_version="risk=abc def") == 2
    assert score(world_dir, tmp_path / "c", model_version="risk=999") == 3
    assert not (tmp_path / "c").exists() and not list(tmp_path.glob(".c.tmp-*"))


def test_a_named_version(world_dir, tmp_path, store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store.tracking_uri)
    s = store.settings
    risk, recovery = (
        client.get_model_version_by_alias(n, "champion").version for n in (s.risk_model_name, s.recovery_model_name)
    )
    out = tmp_path / "named"
    assert score(world_dir, out, model_version=f"risk={risk},recovery={recovery}") == 0
    m = json.loads((out / "manifest.json").read_text())
    assert (m["models"]["risk"]["version"], m["models"]["recovery"]["version"]) == (str(risk), str(recovery))
    assert set(pd.read_csv(out / "scores.csv")["model_version"]) == {
        f"{s.risk_model_name}/{risk},{s.recovery_model_name}/{recovery}"
    }


def test_killed_run_leaves_the_old_output_whole(run, world_dir, store, tmp_path):
    out = tmp_path / "scores"
    shutil.copytree(run, out)
    before = files_digest(out)
    env = {**os.environ, "MLFLOW_TRACKING_URI": store.tracking_uri}
    proc = subprocess.Popen(
        [KLINIK, "score", "--data", str(world_dir), "--as-of", str(AS_OF), "--out", str(out), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while not list(tmp_path.glob(".scores.tmp-*")):
            assert proc.poll() is None, f"the run ended before its temp folder was seen: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "no temp folder within 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert files_digest(out) == before  # the old output, whole
    assert list(tmp_path.glob(".scores.tmp-*"))  # the killed run's leftovers...
    assert score(world_dir, out) == 0
    assert not list(tmp_path.glob(".scores.*"))  # ...are cleared by the next run
    assert (out / "scores.csv").read_bytes() == (run / "scores.csv").read_bytes()


def test_last_years_predictions_are_judged(run, world_dir, store):
    earlier = run.parent / str(AS_OF - 1)  # the layout work/scores/<year>
    assert score(world_dir, earlier, as_of=AS_OF - 1) == 0
    m = json.loads((earlier / "manifest.json").read_text())
    assert m["backtest"]["year"] == AS_OF - 1 and m["backtest"]["source"].startswith("this run")
    latest = run.parent / "latest"
    assert score(world_dir, latest) == 0
    m = json.loads((latest / "manifest.json").read_text())
    assert m["backtest"]["year"] == AS_OF - 1 and str(earlier) in m["backtest"]["source"]
    page = (latest / "report.html").read_text(encoding="utf-8")
    assert re.search(r"Dari \d+ koperasi dengan peluang tertinggi, \d+ benar-benar jatuh sakit", page)


def test_sick_cooperatives_go_to_the_clinic_training_judges(scores, world, store):
    # the batch job builds features of the years before each sick spell for the sick cooperatives only; the
    # clinic must be the one training's routing computes from the full feature table (the figure it reports)
    from klinik.features.build import build_features
    from klinik.features.catalog import feature_groups
    from klinik.models.explain import contributions, main_cause, spell_contributions
    from klinik.serving.scoring import load_models

    models = load_models(store.settings)
    columns = list(models.risk.feature_names_in_)
    feats = build_features(world, store.settings)
    sick = scores.loc[scores["status"] == "SAKIT", "coop_id"].astype(str)
    X = feats[(feats["year"] == AS_OF) & feats["coop_id"].astype(str).isin(sick)].set_index("coop_id", drop=False)
    assert len(X) == len(sick) > 0
    routed = main_cause(spell_contributions(models.risk, X, feats, columns, "years_sick"), feature_groups())
    now_only = main_cause(contributions(models.risk, X[columns]), feature_groups())
    batch = scores.set_index("coop_id").loc[X.index, "clinic"]
    assert (batch == routed).all()
    # and the spell's earlier year does change some clinics here, so the check above is not vacuous
    assert (routed != now_only).any()


def test_demo_prints_the_top_ten_of_the_outreach_order(run, scores, world):
    # make demo prints the top ten: the JANGKAU list first, then the next cooperatives not sick now, by risk
    from klinik.demo import outreach_top

    top = outreach_top(pd.read_parquet(run / "scores.parquet"), world.cooperatives, n=10)
    healthy = scores.loc[scores["status"] != "SAKIT"].sort_values("rank")
    assert len(top) == min(10, len(healthy)) == 10
    assert top["coop_id"].tolist() == healthy["coop_id"].head(10).tolist()
    assert top["rank"].is_monotonic_increasing and top["name"].notna().all()
    jangkau = (top["action"] == "JANGKAU").to_numpy()
    assert not (~jangkau[:-1] & jangkau[1:]).any()  # every JANGKAU comes before every other action
    assert set(top["action"]) <= {"JANGKAU", "PANTAU"}
