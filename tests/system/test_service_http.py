"""The HTTP service end to end: the real `klinik serve` on 127.0.0.1 with models trained in a temporary store.

The session's one server (tests/system/conftest.py): every bad request is sent to it, and at the end it must
still answer. Scores are compared with the real `klinik score` output for the same records.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from concurrent.futures import ThreadPoolExecutor

import bentoml
import httpx
import pandas as pd
import pytest
from service_helpers import API_KEY, AS_OF, MAX_BODY, MAX_COOPS

from klinik.serving.service_io import payload_from_dataset

pytestmark = pytest.mark.slow


def post(http: httpx.Client, route: str, body) -> httpx.Response:
    return http.post(
        route,
        content=body if isinstance(body, (str, bytes)) else json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def problems(resp: httpx.Response) -> dict[str, str]:
    assert resp.status_code == 400, (resp.status_code, resp.text[:2000])
    body = resp.json()
    assert body["error"]
    return {".".join(str(p) for p in d["loc"]): d["msg"] for d in body["detail"]}


def close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and abs(a - b) <= 1e-9


# ------------------------------------------------------------------------------------------- good requests
def test_score_of_the_whole_world_equals_batch_scoring(http, world, batch):
    resp = post(http, "/score", {"cooperatives": payload_from_dataset(world), "as_of_year": AS_OF})
    assert resp.status_code == 200, resp.text[:2000]
    body = resp.json()
    expected = pd.read_parquet(batch).set_index("coop_id")
    got = {r["coop_id"]: r for r in body["scores"]}
    assert set(got) == set(expected.index)
    for coop_id, row in expected.iterrows():
        mine = got[coop_id]
        for col in ("status", "clinic", "action", "model_version", "reasons"):
            want = row[col]
            have = mine["reasons_text"] if col == "reasons" else mine[col]
            assert have == want, (coop_id, col, have, want)
        assert mine["rank"] == int(row["rank"])
        assert mine["as_of_year"] == AS_OF
        for col in ("p_sick_next", "p_recover"):
            for end in ("", "_lo", "_hi"):  # each probability with its 80% interval, as the batch wrote them
                assert close(mine[col + end], float(row[col + end])), (coop_id, col + end)
    assert [r["rank"] for r in body["scores"]] == sorted(r["rank"] for r in body["scores"])


def test_one_cooperative_gets_the_batch_numbers_and_structured_reasons(http, one_coop, batch):
    resp = post(http, "/score", {"cooperatives": [one_coop]})  # as_of_year: the latest year in the records
    assert resp.status_code == 200, resp.text[:2000]
    body = resp.json()
    latest = max(r["year"] for t in ("financials", "staffing", "health") for r in one_coop[t])
    assert body["as_of_year"] == latest
    (row,) = body["scores"]
    expected = pd.read_parquet(batch).set_index("coop_id").loc[one_coop["cooperative"]["coop_id"]]
    if latest == AS_OF:
        assert close(row["p_sick_next"], float(expected["p_sick_next"]))
        assert close(row["p_recover"], float(expected["p_recover"]))
        assert row["reasons_text"] == expected["reasons"] and row["clinic"] == expected["clinic"]
    assert row["rank"] == 1
    assert row["model_version"] == ",".join(body["model_versions"][t] for t in ("risk", "recovery"))
    for reason in row["reasons"]:
        assert set(reason) >= {"kind", "fact", "feature", "contribution", "points", "group", "text_id", "label_id"}
        assert (reason["contribution"] < 0) == (reason["kind"] == "recovery_hinders")
        assert 0 < reason["share"] <= 1
    risk = [r for r in row["reasons"] if r["kind"] == "risk"]
    assert sum(r["share"] for r in risk) <= 1 + 1e-9


def test_concurrent_requests_each_get_their_own_answer(server, world, batch):
    """Requests arriving together are scored together: each must still get what it would get alone."""
    expected = pd.read_parquet(batch).set_index("coop_id")
    ids = list(expected.index[:12])
    bodies = [json.dumps({"cooperatives": [c], "as_of_year": AS_OF}) for c in payload_from_dataset(world, ids)]
    broken = payload_from_dataset(world, ids[:1])[0]
    broken["staffing"][0]["members"] = -1
    bodies.insert(5, json.dumps({"cooperatives": [broken], "as_of_year": AS_OF}))

    def send(body: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/score",
            content=body,
            timeout=120,
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        )

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        answers = list(pool.map(send, bodies))
    bad = answers.pop(5)
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "cooperatives[0].staffing[0].members"
    for coop_id, resp in zip(ids, answers):
        assert resp.status_code == 200, resp.text[:1000]
        (row,) = resp.json()["scores"]
        want = expected.loc[coop_id]
        assert row["coop_id"] == coop_id and row["rank"] == 1
        assert close(row["p_sick_next"], float(want["p_sick_next"])) and row["reasons_text"] == want["reasons"]
        assert row["clinic"] == want["clinic"] and row["status"] == want["status"]


def test_rank_returns_the_outreach_order_within_capacity(http, world):
    coops = payload_from_dataset(world)[:60]
    resp = post(http, "/rank", {"cooperatives": coops, "as_of_year": AS_OF, "capacity": 3})
    assert resp.status_code == 200, resp.text[:2000]
    body = resp.json()
    ranks = [r["rank"] for r in body["scores"]]
    assert ranks == list(range(1, len(ranks) + 1))
    assert len(body["outreach"]) <= 3 and body["capacity"] == 3
    jangkau = [r["coop_id"] for r in body["scores"] if r["action"] == "JANGKAU"]
    assert body["outreach"] == jangkau == [r["coop_id"] for r in body["scores"][: len(jangkau)]]
    healthy = [r for r in body["scores"] if r["status"] != "SAKIT"]
    assert [r["p_sick_next"] for r in healthy] == sorted((r["p_sick_next"] for r in healthy), reverse=True)


def test_the_python_client_speaks_to_the_service(server, one_coop):
    with bentoml.SyncHTTPClient(server.url, token=API_KEY, timeout=60) as client:
        assert client.is_ready()
        scored = client.score(cooperatives=[one_coop], as_of_year=AS_OF)
        assert scored["scores"][0]["coop_id"] == one_coop["cooperative"]["coop_id"]
        info = client.model()
        assert set(info["models"]) == {"risk", "recovery"}
    with bentoml.SyncHTTPClient(server.url, timeout=60) as client:  # no key
        with pytest.raises(bentoml.exceptions.BentoMLException) as err:
            client.score(cooperatives=[one_coop], as_of_year=AS_OF)
        assert err.value.error_code == 401


def test_a_cooperatives_action_does_not_depend_on_who_else_is_in_the_request(http, world, batch):
    """/score gives each cooperative the action it has in its population (the batch run's outreach list),
    alone or with others; /model says where that list ended."""
    expected = pd.read_parquet(batch).set_index("coop_id")
    healthy = expected.loc[expected["status"] != "SAKIT"].sort_values("rank")
    listed = list(healthy.index[healthy["action"] == "JANGKAU"])
    assert listed, "the world has cooperatives to reach"
    last, others = listed[-1], list(healthy.index[:5])  # the list's last, and the riskiest five
    for coops in ([last], [last, *[c for c in others if c != last]], others):
        resp = post(http, "/score", {"cooperatives": payload_from_dataset(world, coops), "as_of_year": AS_OF})
        assert resp.status_code == 200, resp.text[:1000]
        for row in resp.json()["scores"]:
            assert row["action"] == expected.loc[row["coop_id"], "action"], (coops, row["coop_id"])
        assert resp.json()["outreach"]["listed"] == len(listed)
    model = http.get("/model").json()["outreach"]
    assert model["as_of_year"] == AS_OF and model["listed"] == len(listed) and model["threshold"] == 0.3
    if model["p_sick_next_cutoff"] is not None:  # the capacity cut the list at its last cooperative
        assert model["coop_id_cutoff"] == last
        assert close(model["p_sick_next_cutoff"], float(expected.loc[last, "p_sick_next"]))


# ------------------------------------------------------------------------------------------- bad input
def _set(body: dict, path: str, value) -> dict:
    """A copy of ``body`` with the value at "a.0.b" replaced (or removed when value is ...)."""
    out = copy.deepcopy(body)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = out
    for p in parents:
        node = node[p]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


@pytest.mark.parametrize(
    "path, value, where, says",
    [
        ("cooperatives.0.financials.0.cash", "banyak", "cooperatives.0.financials.0.cash", "number"),
        ("cooperatives.0.staffing.0.members", ..., "cooperatives.0.staffing.0.members", "required"),
        ("cooperatives.0.cooperative.coop_type", "KOPERASI_X", "cooperatives.0.cooperative.coop_type", "KSP"),
        ("cooperatives.0.staffing.0.employees", -3, "cooperatives.0.staffing.0.employees", ""),
        ("cooperatives.0.financials.0.cahs", 5.0, "cooperatives.0.financials.0.cahs", "Extra"),
        ("cooperatives.0.financials.0.coop_id", "OTHER", "cooperatives.0.financials.0.coop_id", "own"),
        ("cooperatives.0.staffing.0.has_manager", "mungkin", "cooperatives.0.staffing.0.has_manager", "boolean"),
        ("as_of_year", dt.date.today().year + 1, "as_of_year", "future"),
        ("cooperatives", [], "cooperatives", "at least 1"),
    ],
)
def test_bad_field_is_a_400_naming_the_field(http, one_coop, path, value, where, says):
    found = problems(post(http, "/score", _set({"cooperatives": [one_coop]}, path, value)))
    assert where in found, found
    assert says.lower() in found[where].lower(), found


def test_an_as_of_year_outside_the_records_and_an_unknown_kecamatan_are_400s_naming_the_field(http, one_coop):
    first = min(r["year"] for t in ("financials", "staffing", "health") for r in one_coop[t])
    found = problems(post(http, "/score", {"cooperatives": [one_coop], "as_of_year": first - 4}))
    assert list(found) == ["as_of_year"] and f"earliest year is {first}" in found["as_of_year"]
    typo = _set({"cooperatives": [one_coop]}, "cooperatives.0.cooperative.district", "Seririd")
    found = problems(post(http, "/score", typo))
    assert "did you mean 'Seririt'" in found["cooperatives.0.cooperative.district"]


def test_every_refusal_has_one_shape_naming_the_field(http, server, one_coop):
    """BentoML's own input check, the contract's check, the service's own refusals and the door's: one shape."""
    answers = [
        post(http, "/score", _set({"cooperatives": [one_coop]}, "cooperatives.0.financials.0.cash", "banyak")),
        post(http, "/score", _set({"cooperatives": [one_coop]}, "cooperatives.0.financials.0.cash", -1.0)),
        post(http, "/score", {"cooperatives": [one_coop], "as_of_year": 1990}),
        post(http, "/score", {"cooperatives": [one_coop], "extra": 1}),
        post(http, "/lookup", {"coop_ids": ["NO-SUCH-COOP"]}),
        httpx.post(f"{server.url}/score", json={"cooperatives": [one_coop]}, timeout=30),
    ]
    for resp in answers:
        body = resp.json()
        assert 400 <= resp.status_code < 500 and isinstance(body["error"], str), resp.text[:500]
        assert isinstance(body["detail"], list), body
        for d in body["detail"]:
            assert set(d) == {"loc", "field", "msg", "type"}, d
            assert d["field"] and "url" not in d
        assert "IODescriptor" not in body["error"]
    assert [d["field"] for d in answers[0].json()["detail"]] == ["cooperatives[0].financials[0].cash"]
    assert [d["field"] for d in answers[1].json()["detail"]] == ["cooperatives[0].financials[0].cash"]


def test_nan_and_infinity_are_refused(http, one_coop):
    body = json.dumps({"cooperatives": [one_coop]})
    cash = f'"cash": {json.dumps(one_coop["financials"][0]["cash"])}'
    assert cash in body
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        found = problems(post(http, "/score", body.replace(cash, f'"cash": {literal}', 1)))
        assert "cooperatives.0.financials.0.cash" in found, (literal, found)


def test_contradictory_totals_are_a_400(http, one_coop):
    fin = one_coop["financials"][0]
    body = _set({"cooperatives": [one_coop]}, "cooperatives.0.financials.0.total_assets", fin["total_assets"] * 3 + 1e9)
    found = problems(post(http, "/score", body))
    assert any(k.startswith("cooperatives.0.financials.0") for k in found), found


def test_a_duplicated_year_is_a_400(http, one_coop):
    body = {"cooperatives": [copy.deepcopy(one_coop)]}
    body["cooperatives"][0]["staffing"].append(copy.deepcopy(one_coop["staffing"][0]))
    found = problems(post(http, "/score", body))
    n = len(one_coop["staffing"])
    assert any(k.startswith(f"cooperatives.0.staffing.{i}") for k in found for i in (0, n)), found


def test_a_year_in_the_future_in_the_records_is_a_400(http, one_coop):
    body = _set({"cooperatives": [one_coop]}, "cooperatives.0.financials.0.year", dt.date.today().year + 2)
    found = problems(post(http, "/score", body))
    assert any(k.startswith("cooperatives.0.financials.0") for k in found), found


def test_not_json_and_wrong_shapes_are_400(http):
    for body in ("this is not json", "[1, 2, 3]", '{"cooperatives": "all of them"}', "{}"):
        resp = post(http, "/score", body)
        assert resp.status_code == 400, (body, resp.status_code, resp.text[:500])


# ------------------------------------------------------------------------------------------- limits, key
def test_too_many_cooperatives_is_refused(http, one_coop):
    many = []
    for i in range(MAX_COOPS + 1):
        c = copy.deepcopy(one_coop)
        c["cooperative"]["coop_id"] = f"X{i:05d}"
        many.append({"cooperative": c["cooperative"]})
    found = problems(post(http, "/score", {"cooperatives": many}))
    assert "cooperatives" in found and str(MAX_COOPS) in found["cooperatives"]


def test_a_body_too_large_is_413_with_and_without_content_length(http, server):
    big = b'{"cooperatives": [' + b" " * (MAX_BODY + 10) + b"]}"
    resp = post(http, "/score", big)
    assert resp.status_code == 413 and "bytes" in resp.json()["error"]

    def chunks():
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    resp = httpx.post(
        f"{server.url}/score",
        content=chunks(),
        timeout=60,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 413


def test_the_api_key_is_required_on_our_routes_and_probes_stay_open(server, one_coop):
    body = json.dumps({"cooperatives": [one_coop]})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
        for route in ("/score", "/rank", "/lookup", "/model"):
            resp = httpx.post(
                f"{server.url}{route}",
                content=body,
                timeout=30,
                headers={"Content-Type": "application/json", **headers},
            )
            assert resp.status_code == 401, (route, headers, resp.status_code)
            assert resp.headers["www-authenticate"] == "Bearer"
    for probe in ("/livez", "/readyz", "/docs.json"):
        assert httpx.get(f"{server.url}{probe}", timeout=30).status_code == 200, probe


# ------------------------------------------------------------------------------------------- lookup, model
def test_lookup_returns_the_batch_rows_and_names_unknown_ids(http, batch):
    expected = pd.read_parquet(batch).set_index("coop_id")
    ids = list(expected.index[:3])
    resp = post(http, "/lookup", {"coop_ids": ids + ["NO-SUCH-COOP"]})
    assert resp.status_code == 200, resp.text[:1000]
    body = resp.json()
    assert [r["coop_id"] for r in body["scores"]] == ids
    assert body["not_found"] == ["NO-SUCH-COOP"]
    for row in body["scores"]:
        assert row["rank"] == int(expected.loc[row["coop_id"], "rank"])
        assert close(row["p_sick_next"], float(expected.loc[row["coop_id"], "p_sick_next"]))

    resp = post(http, "/lookup", {"coop_ids": ["NO-SUCH-COOP"]})
    assert resp.status_code == 404 and resp.json()["not_found"] == ["NO-SUCH-COOP"]
    assert [(d["field"], d["type"]) for d in resp.json()["detail"]] == [("coop_ids[0]", "not_found")]


def test_model_says_which_versions_are_served_and_how_good_they_are(http, trained_registry):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=trained_registry.tracking_uri)
    for resp in (http.get("/model"), post(http, "/model", {})):
        assert resp.status_code == 200, resp.text[:1000]
        models = resp.json()["models"]
        for task, name in (
            ("risk", trained_registry.settings.risk_model_name),
            ("recovery", trained_registry.settings.recovery_model_name),
        ):
            champion = client.get_model_version_by_alias(name, "champion")
            info = models[task]
            assert info["name"] == name and info["version"] == str(champion.version)
            assert info["run_id"] == champion.run_id and info["trained_at"]
            assert info["metrics"] and all(math.isfinite(v) for v in info["metrics"].values())
            assert info["bento_tag"].startswith(f"{name}:")


# ------------------------------------------------------------------------------------------- still alive
def test_zz_the_server_still_answers_after_all_of_that(http, server, one_coop):
    assert server.proc.poll() is None
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    resp = post(http, "/score", {"cooperatives": [one_coop], "as_of_year": AS_OF})
    assert resp.status_code == 200
    log = server.log.read_text(errors="replace")
    assert "status=400" in log and "status=500" not in log  # every bad request was answered as such, none crashed
    assert one_coop["cooperative"]["name"] not in log  # request bodies never reach the log
