"""The 80% intervals where the service gives scores: /rank, /lookup and the staff page's profile, on the session's
real server (`klinik serve` on 127.0.0.1) with the real batch output (/score's agreement with the batch, interval
included, is in test_service_http.py)."""

from __future__ import annotations

import html
import re

import httpx
import pandas as pd
import pytest
from service_helpers import AS_OF, STAFF

from klinik.serving.service_io import payload_from_dataset
from klinik.wording import interval_range

pytestmark = pytest.mark.slow

ENDS = ("p_sick_next_lo", "p_sick_next_hi", "p_recover_lo", "p_recover_hi")
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def held(row: dict, p: str) -> bool:
    """The row's interval of ``p`` holds ``p`` (both empty where ``p`` is)."""
    lo, mid, hi = row[f"{p}_lo"], row[p], row[f"{p}_hi"]
    if mid is None:
        return lo is None and hi is None
    return lo is not None and hi is not None and lo <= mid <= hi and lo < hi


def test_rank_answers_carry_the_interval(http, world):
    coops = payload_from_dataset(world)[:40]
    resp = http.post("/rank", json={"cooperatives": coops, "as_of_year": AS_OF, "capacity": 3})
    assert resp.status_code == 200, resp.text[:2000]
    rows = resp.json()["scores"]
    assert rows and all(set(ENDS) <= set(r) for r in rows)
    assert all(held(r, "p_sick_next") and held(r, "p_recover") for r in rows)
    assert any(r["p_recover"] is not None for r in rows) and any(r["p_sick_next"] is not None for r in rows)
    assert all(set(r) >= {"certainty", "certainty_en"} for r in rows)


def test_lookup_answers_are_the_batch_rows_with_their_interval(http, batch):
    expected = pd.read_parquet(batch).set_index("coop_id")
    sick = expected.index[expected["status"] == "SAKIT"][:2].tolist()
    healthy = expected.index[expected["status"] != "SAKIT"][:2].tolist()
    resp = http.post("/lookup", json={"coop_ids": sick + healthy})
    assert resp.status_code == 200, resp.text[:2000]
    for row in resp.json()["scores"]:
        want = expected.loc[row["coop_id"]]
        for col in ENDS:
            assert (row[col] is None and pd.isna(want[col])) or abs(row[col] - want[col]) < 1e-12, (row["coop_id"], col)
        assert held(row, "p_sick_next") and held(row, "p_recover")


@pytest.fixture(scope="module")
def officer(server):
    """A browser signed in as a member of staff."""
    name = next(iter(STAFF))
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as browser:
        token = TOKEN.search(browser.get("/masuk").text)[1]
        done = browser.post("/masuk", data={"csrf_token": token, "username": name, "password": STAFF[name]})
        assert done.status_code == 303, done.text[:500]
        yield browser


def test_the_profile_shows_the_chance_with_its_range_and_the_advice_when_unsure(officer, batch):
    evidence = pd.read_parquet(batch.with_name("evidence.parquet"))[["coop_id", "certainty"]]
    rows = pd.read_parquet(batch).merge(evidence, on="coop_id").set_index("coop_id")
    rows["certainty"] = rows["certainty"].fillna("")
    sick = rows["status"] == "SAKIT"
    picks = [rows.index[~sick][0], rows.index[sick][0], *rows.index[rows["certainty"] != ""][:1]]
    for coop_id in picks:
        row = rows.loc[coop_id]
        page = officer.get(f"/koperasi/{coop_id}")
        assert page.status_code == 200, page.text[:500]
        p = "p_recover" if row["status"] == "SAKIT" else "p_sick_next"
        words = interval_range(row[f"{p}_lo"], row[f"{p}_hi"], "id")
        assert words.startswith("kisaran 80%: ") and html.escape(words) in page.text, coop_id
        if row["certainty"]:
            assert 'id="certainty"' in page.text and html.escape(row["certainty"]) in page.text
        else:
            assert 'id="certainty"' not in page.text
