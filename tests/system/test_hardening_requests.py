"""Request bodies that are JSON but wrong in ways a lax reader would let through, or that are wrong everywhere:
each answered 400 naming the field, and however broken a request is, the answer stays small.

Sent to the session's one server (tests/system/conftest.py).
"""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from service_helpers import AS_OF, MAX_BODY, MAX_COOPS

from klinik.serving.service_io import MAX_DETAIL, payload_from_dataset

pytestmark = pytest.mark.slow
ANSWER_LIMIT = 64_000  # bytes: a few thousand would do; far below what listing every problem would take


def post(http, route: str, body) -> tuple[int, dict, int]:
    resp = http.post(route, content=json.dumps(body), headers={"Content-Type": "application/json"})
    return resp.status_code, resp.json(), len(resp.content)


def fields(answer: dict) -> dict[str, str]:
    """Each listed problem's field, dotted ("cooperatives.0.staffing.1.members"), and its message."""
    return {".".join(str(p) for p in d["loc"]): d["msg"] for d in answer["detail"]}


@pytest.mark.parametrize(
    "table, column, value, says",
    [
        ("financials", "cash", True, "boolean is not a number"),
        ("staffing", "members", True, "boolean is not a number"),
        ("staffing", "members", False, "boolean is not a number"),
        ("staffing", "members", "120", "text is not a number"),
        ("financials", "total_assets", "1.5e9", "text is not a number"),
        ("staffing", "has_manager", 1, "boolean"),
        ("meetings", "held_on", 1700000000, "not a number"),
    ],
)
def test_a_value_of_another_json_type_is_a_400_naming_the_field(http, one_coop, table, column, value, says):
    body = {"cooperatives": [copy.deepcopy(one_coop)], "as_of_year": AS_OF}
    body["cooperatives"][0][table][1][column] = value
    status, answer, _ = post(http, "/score", body)
    assert status == 400, answer
    found = fields(answer)
    where = f"cooperatives.0.{table}.1.{column}"
    assert list(found) == [where], found
    assert says in found[where], found


def test_true_as_capacity_or_year_is_a_400(http, one_coop):
    status, answer, _ = post(http, "/rank", {"cooperatives": [one_coop], "as_of_year": AS_OF, "capacity": True})
    assert status == 400 and "capacity" in fields(answer), answer
    status, answer, _ = post(http, "/score", {"cooperatives": [one_coop], "as_of_year": True})
    assert status == 400 and "as_of_year" in fields(answer), answer


def test_as_of_year_later_than_every_record_is_a_400(http, one_coop):
    latest = max(r["year"] for t in ("financials", "staffing", "health") for r in one_coop[t])
    status, answer, _ = post(http, "/score", {"cooperatives": [one_coop], "as_of_year": latest + 1})
    assert status == 400, answer
    found = fields(answer)
    assert "later than every record" in found["as_of_year"] and str(latest) in found["as_of_year"]
    status, _, _ = post(http, "/score", {"cooperatives": [one_coop], "as_of_year": latest})
    assert status == 200


@pytest.mark.parametrize(
    "field, value",
    [("as_of_year", str(AS_OF)), ("as_of_year", True), ("as_of_year", float(AS_OF)), ("coop_id", 120),
     ("decision", 1), ("note", 5), ("officer", ["fuzz-petugas"])],
)  # fmt: skip
def test_a_decision_with_a_value_of_another_json_type_is_a_400_naming_the_field(http, batch, field, value):
    scores = pd.read_parquet(batch, columns=["coop_id", "action"])
    coop_id = str(scores.loc[scores["action"] == "JANGKAU", "coop_id"].iloc[-1])
    body = {"coop_id": coop_id, "as_of_year": AS_OF, "decision": "dijadwalkan", "note": "x", "officer": "fuzz-petugas"}
    status, answer, _ = post(http, "/decisions", {**body, field: value})
    assert status == 400 and list(fields(answer)) == [field], answer
    assert post(http, "/decisions", body)[0] in (200, 201)  # the body was good but for that one value


def _every_row_broken(world, break_row) -> tuple[dict, int]:
    """As many cooperatives as one request may carry, each with every year of records, ``break_row`` applied to
    every financials row: the body (within the server's size limit) and the number of broken rows."""
    coops = payload_from_dataset(world)[:MAX_COOPS]
    while len(json.dumps(coops)) > MAX_BODY * 0.9:
        coops = coops[: len(coops) * 4 // 5]
    for coop in coops:
        for row in coop["financials"]:
            break_row(row)
    return {"cooperatives": coops, "as_of_year": AS_OF}, sum(len(c["financials"]) for c in coops)


def test_a_request_broken_everywhere_gets_a_bounded_answer_with_counts(http, world):
    """Every rule of the contract broken in every financials row: the first problems, then counts."""

    def negative(row):
        row["cash"] = -1.0
        row["loans_loss"] = -2.0

    body, rows = _every_row_broken(world, negative)
    status, answer, size = post(http, "/score", body)
    assert status == 400
    assert size < ANSWER_LIMIT, size
    assert len(answer["detail"]) == MAX_DETAIL
    assert all(d["field"].startswith("cooperatives[") for d in answer["detail"])
    counts = {(c["field"], c["rule"]): c["count"] for c in answer["counts"]}
    assert counts[("cooperatives[].financials[].cash", "must be >= 0")] == rows, counts
    assert counts[("cooperatives[].financials[].loans_loss", "must be >= 0")] == rows, counts
    assert f"{sum(counts.values())} problems" in answer["error"]


def test_a_request_of_wrong_types_everywhere_gets_a_bounded_answer_with_counts(http, world):
    """The same through the request types (a boolean in every money cell): counted by field and type, in the one
    shape the contract's problems have."""

    def booleans(row):
        for column in row:
            if column != "year":
                row[column] = True

    body, rows = _every_row_broken(world, booleans)
    status, answer, size = post(http, "/score", body)
    assert status == 400
    assert size < ANSWER_LIMIT, size
    assert set(answer) == {"error", "detail", "counts"}, list(answer)
    assert len(answer["detail"]) == MAX_DETAIL and answer["detail"][0]["msg"].startswith("a boolean is not a number")
    assert all(d["field"].startswith("cooperatives[") for d in answer["detail"])
    counts = {(c["field"], c["rule"]): c["count"] for c in answer["counts"]}
    assert len(counts) == 21 and counts[("cooperatives[].financials[].cash", "number_type")] == rows, counts
    assert f"{rows * 21} problems" in answer["error"] and "IODescriptor" not in answer["error"]
