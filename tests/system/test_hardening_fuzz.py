"""Generated JSON thrown at the real server: never a 5xx, never a 200 for a body that breaks the contract, and the
server still ready afterwards.

Two kinds of bodies, from hypothesis (bounded: a fixed number of examples per test, a few seconds each):

- random shapes: any JSON (or bytes that are not JSON), and the route's own keys holding any JSON;
- a good body with one thing changed: a value replaced by another JSON type, an extreme or null, a key removed,
  an unknown key added. Whether the change breaks the contract is judged from the contract's declaration
  (``klinik.data.contract``: each column's kind and whether it may be empty), not from the request types under
  test, so a type that lets ``true`` pass as a number is caught. Changes the declaration alone cannot judge (a
  negative amount, an unknown kecamatan) may be answered 200 or 400, never 5xx.

Routes are ``Target`` entries in TARGETS: the staff page's routes (login, forms, imports) join there when they
exist, each with its own good body, its encoding and its own ``verdict`` on a change (see ``Target``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_helpers import AS_OF, Log

from klinik.data.contract import TABLE
from klinik.serving import schemas

pytestmark = pytest.mark.slow

BREAKS, UNSURE = "breaks", "unsure"  # a change's verdict: the route must refuse it; the route may take it
EXAMPLES = settings(
    max_examples=40,
    deadline=None,  # the server's time, not hypothesis's, is what a request takes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # nothing written into the repository
)

# ------------------------------------------------------------------------------------------- the contract's view
_ALLOWED = {  # the JSON types a cell of each kind may come as
    "text": {"str"},
    "code": {"str"},
    "year": {"int", "float"},
    "count": {"int", "float"},
    "money": {"int", "float"},
    "number": {"int", "float"},
    "flag": {"bool"},
    "date": {"str"},
}
_NESTED = {"cooperative": "cooperatives", **{t: t for t in schemas.NESTED_TABLES}}
_TOP = {  # the request's own fields: (kind, may be left out)
    "as_of_year": ("year", True),
    "capacity": ("count", False),
}


def json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, kind):
            return name
    return "list" if isinstance(value, list) else "dict"


def _column(path: tuple) -> tuple[str, bool] | None:
    """(kind, may be empty) of the cell at ``path`` in a /score or /rank body; None for a list or an object."""
    if len(path) == 1 and path[0] in _TOP:
        return _TOP[path[0]]
    named = [p for p in path if isinstance(p, str)]
    if len(named) == 3 and named[0] == "cooperatives" and named[1] in _NESTED:
        column = TABLE[_NESTED[named[1]]].column(named[2])
        optional = column.optional or (column.name == "coop_id" and named[1] != "cooperative")
        return column.kind, optional
    return None


def contract_verdict(path: tuple, change: str, value: Any = None) -> str:
    """Whether a change at ``path`` of a /score or /rank body breaks what the contract declares."""
    if change == "add_key":
        return BREAKS  # unknown fields are refused (a typo would otherwise be dropped)
    cell = _column(path)
    if cell is None:  # a list or an object: removed, replaced, or one item fewer
        if change == "remove_item":
            return BREAKS if path == ("cooperatives",) and value == 0 else UNSURE  # at least one cooperative
        nested = path[-1] in schemas.NESTED_TABLES  # a table of records may be left out, or empty
        return UNSURE if nested and (change == "remove" or value == []) else BREAKS
    kind, optional = cell
    if change == "remove" or value is None:
        return UNSURE if optional else BREAKS
    if json_type(value) not in _ALLOWED[kind]:
        return BREAKS
    if kind in ("year", "count"):
        if not float(value).is_integer() or not -(2**63) <= value < 2**63:
            return BREAKS
    if kind == "code" and value not in TABLE[_NESTED.get(path[-3], "cooperatives")].column(path[-1]).codes:
        return BREAKS
    return UNSURE


def lookup_verdict(path: tuple, change: str, value: Any = None) -> str:
    """/lookup takes {"coop_ids": [text, ...]} (at least one); unknown ids are a 404, not a break."""
    if change == "add_key":
        return BREAKS
    if change == "remove_item":  # value: how many ids are left
        return UNSURE if value else BREAKS
    if path == ("coop_ids",):  # the list removed or replaced: still a list of text?
        texts = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        return UNSURE if change == "replace" and texts else BREAKS
    return UNSURE if json_type(value) == "str" and change == "replace" else BREAKS


# ------------------------------------------------------------------------------------------- routes
@dataclass(frozen=True)
class Target:
    """One route under fuzzing.

    ``good`` makes a body the route accepts (from the session's fixtures); ``verdict(path, change, value)`` says
    whether a change breaks the route's contract (BREAKS: it must be refused) or may be taken (UNSURE);
    ``request_type`` is the declared request type (a random shape answered 200 must be one of it); ``send``
    posts a body (JSON here; a form route would encode a form and carry its session and CSRF token).

    The staff page's routes join TARGETS when they exist, e.g. ``Target("/login", good=lambda f: {"name": ...,
    "password": ...}, verdict=..., send=post_form)``, and are then covered by every property below.
    """

    path: str
    good: Callable[[dict], dict]
    verdict: Callable[..., str]
    request_type: type
    send: Callable[[Any, str, bytes], Any] | None = None


def post_json(http, path: str, body: bytes):
    return http.post(path, content=body, headers={"Content-Type": "application/json"})


TARGETS = [
    Target("/score", lambda f: {"cooperatives": [f["one_coop"]], "as_of_year": AS_OF}, contract_verdict,
           schemas.ScoreRequest),
    Target("/rank", lambda f: {"cooperatives": [f["one_coop"]], "as_of_year": AS_OF, "capacity": 1},
           contract_verdict, schemas.RankRequest),
    Target("/lookup", lambda f: {"coop_ids": [f["one_coop"]["cooperative"]["coop_id"], "NO-SUCH-COOP"]},
           lookup_verdict, schemas.LookupRequest),
]  # fmt: skip


# ------------------------------------------------------------------------------------------- generated bodies
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
EXTREMES = st.sampled_from(
    [0, -1, -0.0, 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324, 1.5, "", " ", "x" * 2000, "9999-12-31", "0001-01-01",
     "2024-02-30", "KSP", [], {}, [None], {"": None}]
)  # fmt: skip
ANY_JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=16,
)  # fmt: skip


_OF_TYPE = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers(min_value=-(2**70), max_value=2**70),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "str": st.text(max_size=12),
    "list": st.lists(SCALARS, max_size=2),
    "dict": st.dictionaries(st.text(max_size=6), SCALARS, max_size=2),
}


def other_type(value: Any) -> st.SearchStrategy:
    """A value of another JSON type than ``value``'s (``true`` for a number, a number for a flag or a text...)."""
    return st.sampled_from(sorted(set(_OF_TYPE) - {json_type(value)})).flatmap(_OF_TYPE.__getitem__)


def paths(node: Any, here: tuple = ()) -> list[tuple]:
    """Every place in a JSON body: each object's keys and each list's items, nested."""
    out = [here] if here else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out += paths(child, (*here, key))
    return out


@st.composite
def changed(draw, good: dict) -> tuple[tuple, str, Any, dict]:
    """(path, change, value, body): ``good`` with one thing changed: a value replaced ("replace"), a key removed
    ("remove"), an item of a list removed ("remove_item": path is the list's, value how many items are left), an
    unknown key added ("add_key": path is the object's)."""
    body = copy.deepcopy(good)
    path = draw(st.sampled_from(paths(body)))
    *parents, last = path
    node = body
    for p in parents:
        node = node[p]
    change = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add_key"]))
    value = None
    if change == "replace":
        value = draw(st.one_of(other_type(node[last]), EXTREMES, st.none(), SCALARS))
        node[last] = value
    elif change == "remove" and isinstance(node, dict):
        del node[last]
    elif change == "remove":  # an item of a list: the list is one shorter; value: how many items are left
        del node[last]
        path, change, value = tuple(parents), "remove_item", len(node)
    else:
        target = node[last] if isinstance(node[last], dict) else node
        path = path if isinstance(node[last], dict) else tuple(parents)
        if not isinstance(target, dict):
            target, path = body, ()
        target[draw(st.sampled_from(["cahs", "extra", "coop", ""]))] = draw(SCALARS)
    return path, change, value, body


# ------------------------------------------------------------------------------------------- the properties
@pytest.fixture(scope="module")
def fixtures(one_coop) -> dict:
    return {"one_coop": one_coop}


def _send(http, target: Target, body: bytes):
    return (target.send or post_json)(http, target.path, body)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.path)
def test_a_good_body_with_one_change_is_never_a_5xx_nor_a_wrong_200(http, server, fixtures, target):
    good = target.good(fixtures)
    assert _send(http, target, json.dumps(good).encode()).status_code == 200  # the starting point is good
    log = Log(server)

    @EXAMPLES
    @given(case=changed(good))
    def property_(case):
        path, change, value, body = case
        resp = _send(http, target, json.dumps(body).encode())
        assert resp.status_code < 500, (path, change, value, resp.text[:500])
        if target.verdict(path, change, value) == BREAKS:
            assert 400 <= resp.status_code < 500, (path, change, value, resp.status_code, resp.text[:500])

    property_()
    assert http.get("/readyz").status_code == 200
    assert "[ERROR]" not in log.new() and "Traceback" not in log.new()


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.path)
def test_any_shape_is_never_a_5xx_and_only_a_valid_body_is_a_200(http, server, target):
    log = Log(server)
    keys = list(target.request_type.model_fields)

    @EXAMPLES
    @given(
        body=st.one_of(
            ANY_JSON.map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries({k: ANY_JSON for k in keys}).map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=64),
        )
    )
    def property_(body):
        resp = _send(http, target, body)
        assert resp.status_code < 500, (body[:300], resp.text[:500])
        if resp.status_code == 200:  # then the body must be one the route's request type takes
            target.request_type.model_validate_json(body)

    property_()
    assert http.get("/readyz").status_code == 200
    assert "[ERROR]" not in log.new() and "Traceback" not in log.new()
