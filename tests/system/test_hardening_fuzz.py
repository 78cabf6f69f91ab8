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
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_helpers import AS_OF, STAFF, Log

from klinik.data.contract import TABLE
from klinik.serving import schemas
from klinik.serving.decisions import CHOICES, NOTE_MAX_CHARS
from klinik.serving.decisions_api import DecisionRequest

pytestmark = pytest.mark.slow

OFFICER, SIGNS_IN = list(STAFF)  # the account deciding (its session posts the forms); the one whose login is fuzzed
BREAKS, UNSURE = "breaks", "unsure"  # a change's verdict: the route must refuse it; the route may take it
EXAMPLES = settings(
    max_examples=40,
    deadline=None,  # the server's time, not hypothesis's, is what a request takes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # nothing written into the repository
)
SIGN_IN_EXAMPLES = settings(EXAMPLES, max_examples=25)  # each sign-in hashes a password (argon2: about 0.3 s)

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


def contract_verdict(path: tuple, change: str, value: Any = None, fixtures: dict | None = None) -> str:
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


def lookup_verdict(path: tuple, change: str, value: Any = None, fixtures: dict | None = None) -> str:
    """/lookup takes {"coop_ids": [text, ...]} (at least one); unknown ids are a 404, not a break."""
    if change == "add_key":
        return BREAKS
    if change == "remove_item":  # value: how many ids are left
        return UNSURE if value else BREAKS
    if path == ("coop_ids",):  # the list removed or replaced: still a list of text?
        texts = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        return UNSURE if change == "replace" and texts else BREAKS
    return UNSURE if json_type(value) == "str" and change == "replace" else BREAKS


def _decides(action: str, typed: Any) -> bool:
    """Whether ``typed`` may name a decision on ``action`` (a code or a label of the declared list, any case or
    spacing; a little more lenient than the route, so a refusal it judges unsure is never a false failure)."""
    if not isinstance(typed, str):
        return False
    key = re.sub(r"[\s_]+", " ", typed.strip()).casefold()
    return any(key in (re.sub(r"[\s_]+", " ", c.code).casefold(), c.label.casefold()) for c in CHOICES[action])


def decisions_verdict(path: tuple, change: str, value: Any, fixtures: dict) -> str:
    """POST /decisions takes {coop_id, decision, officer, as_of_year?, note?}, nothing else, in these JSON types;
    the cooperative must be in the batch output, the decision on its action's list, the officer an account."""
    if change == "add_key":
        return BREAKS
    field = path[0]
    if change == "remove":
        return UNSURE if field in ("as_of_year", "note") else BREAKS
    if field == "coop_id":
        return UNSURE if isinstance(value, str) and value in fixtures["coop_ids"] else BREAKS
    if field == "as_of_year":
        return UNSURE if value is None or (json_type(value) == "int" and value == AS_OF) else BREAKS
    if field == "decision":
        return UNSURE if _decides(fixtures["decide"]["action"], value) else BREAKS
    if field == "note":
        too_long = isinstance(value, str) and len(value.strip()) > NOTE_MAX_CHARS
        return UNSURE if value is None or (isinstance(value, str) and not too_long) else BREAKS
    return UNSURE if isinstance(value, str) and value.strip() == OFFICER else BREAKS  # officer


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
    Target("/decisions", lambda f: {"coop_id": f["decide"]["api_coop"], "as_of_year": AS_OF,
                                    "decision": f["decide"]["label"], "note": "kunjungan", "officer": OFFICER},
           decisions_verdict, DecisionRequest),
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
     "2024-02-30", "KSP", [], {}, [None], {"": None}, True, AS_OF, float(AS_OF), str(AS_OF)]
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
def fixtures(one_coop, batch) -> dict:
    """What the good bodies are made of: a cooperative's records; for the decisions, two cooperatives of the batch
    output with the same action, one for the JSON API and one for the staff page's form, and a decision on it."""
    scores = pd.read_parquet(batch, columns=["coop_id", "action"])
    action = next(a for a in ("JANGKAU", "BINA", "PANTAU") if (scores["action"] == a).sum() >= 2)
    api_coop, form_coop = scores.loc[scores["action"] == action, "coop_id"].astype(str).iloc[:2]
    picked = next(c for c in CHOICES[action] if not c.needs_note)
    decide = {"action": action, "api_coop": api_coop, "form_coop": form_coop, "label": picked.label}
    return {"one_coop": one_coop, "coop_ids": set(scores["coop_id"].astype(str)), "decide": decide}


def _send(http, target: Target, body: bytes):
    return (target.send or post_json)(http, target.path, body)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.path)
def test_a_good_body_with_one_change_is_never_a_5xx_nor_a_wrong_200(http, server, fixtures, target):
    good = target.good(fixtures)
    assert _send(http, target, json.dumps(good).encode()).status_code in (200, 201)  # the starting point is good
    log = Log(server)

    @EXAMPLES
    @given(case=changed(good))
    def property_(case):
        path, change, value, body = case
        resp = _send(http, target, json.dumps(body).encode())
        assert resp.status_code < 500, (path, change, value, resp.text[:500])
        if target.verdict(path, change, value, fixtures) == BREAKS:
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
        if resp.status_code < 300:  # then the body must be one the route's request type takes
            target.request_type.model_validate_json(body)

    property_()
    assert http.get("/readyz").status_code == 200
    assert "[ERROR]" not in log.new() and "Traceback" not in log.new()


# ------------------------------------------------------------------------------------------- the staff page's forms
# Form-encoded (urlencoded or multipart) bodies at the sign-in form (/masuk) and the decision form of a profile
# (/koperasi/<id>/keputusan), signed in with the form's CSRF token, without a session, or with a forged cookie.
# A form answers a mistake with a page (401, 403, 429) or, for a decision, by going back to the profile with the
# reason (303); success is a session for the sign-in (303 away from /masuk) and a new entry in the record for a
# decision (read through GET /decisions). Never a 5xx, never a success for a broken form, never a redirect off
# the site, the server still ready.
FORM_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", " ", "\x00", "\r\n", "x" * 6000, "%00", "a&b=c", "//evil.example/", "https://evil.example/", "/\\evil",
         "/\t/evil.example", "DIJANGKAU", "tidak perlu", "dibina", OFFICER, STAFF[SIGNS_IN].upper()]
    ),
)  # fmt: skip
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def encode_form(fields: list[tuple[str, str]], how: str) -> tuple[bytes, str]:
    """The fields as a urlencoded or a multipart body, with its Content-Type."""
    if how == "urlencoded":
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    parts = b"".join(
        b'--fuzzbound\r\nContent-Disposition: form-data; name="' + k.encode() + b'"\r\n\r\n' + v.encode() + b"\r\n"
        for k, v in fields
    )
    return parts + b"--fuzzbound--\r\n", "multipart/form-data; boundary=fuzzbound"


@st.composite
def changed_form(draw, good: dict[str, str]) -> tuple[str, str, str | None, list[tuple[str, str]], str]:
    """(field, change, value, fields, encoding): ``good`` with one field replaced, removed, or a field added (an
    unknown one, or a second value for a known one)."""
    fields = dict(good)
    field = draw(st.sampled_from(sorted(good)))
    change = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add_key"]))
    value = None
    if change == "replace":
        value = fields[field] = draw(FORM_VALUES)
    elif change == "remove":
        del fields[field]
    pairs = list(fields.items())
    if change == "add_key":
        field = draw(st.sampled_from(["extra", "", "csrf_token", "decision", "username", "role"]))
        value = draw(FORM_VALUES)
        pairs.append((field, value))
    return field, change, value, pairs, draw(st.sampled_from(["urlencoded", "multipart"]))


def login_verdict(field: str, change: str, value: str | None, fixtures: dict) -> str:
    """A sign-in needs this session's CSRF token, the account's name and its password."""
    if change == "add_key":
        return UNSURE
    if change == "remove":
        return UNSURE if field == "next" else BREAKS
    if field == "username":
        return UNSURE if value.strip()[:100] == SIGNS_IN else BREAKS
    if field == "password":
        return UNSURE if value[:1000] == STAFF[SIGNS_IN] else BREAKS
    return BREAKS if field == "csrf_token" else UNSURE


def decide_verdict(field: str, change: str, value: str | None, fixtures: dict) -> str:
    """A decision needs the session's CSRF token, a decision on the action's list, and a note when it asks one."""
    action = fixtures["decide"]["action"]
    picked = next(c for c in CHOICES[action] if c.label == fixtures["decide"]["label"])
    if change == "add_key":
        return UNSURE
    if change == "remove":
        return BREAKS if field in ("csrf_token", "decision") or (field == "note" and picked.needs_note) else UNSURE
    if field == "csrf_token":
        return BREAKS
    if field == "decision":
        return UNSURE if _decides(action, value[:200]) else BREAKS
    if field == "note":
        note = value[:5000].strip()
        return BREAKS if len(note) > NOTE_MAX_CHARS or (picked.needs_note and not note) else UNSURE
    return UNSURE  # next


def _token(page: str) -> str:
    found = TOKEN.search(page)
    assert found, page[:500]
    return found[1]


def _on_site(resp) -> None:
    """A redirect never leaves the site (the form's ``next`` is the client's to choose)."""
    if 300 <= resp.status_code < 400:
        where = resp.headers["location"]
        assert where.startswith("/") and where[1:2] not in ("/", "\\"), where


@pytest.fixture(scope="module")
def staff(server):
    """A browser signed in as the deciding officer, and its CSRF token."""
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as browser:
        token = _token(browser.get("/masuk").text)
        signed_in = browser.post("/masuk", data={"csrf_token": token, "username": OFFICER, "password": STAFF[OFFICER]})
        assert signed_in.status_code == 303 and not signed_in.headers["location"].startswith("/masuk")
        yield browser, _token(browser.get("/").text)


def _entries(http, coop_id: str) -> int:
    listed = http.get("/decisions", params={"coop_id": coop_id})
    assert listed.status_code == 200, listed.text
    return len(listed.json()["decisions"])


def _browser(server, session: str) -> httpx.Client:
    cookies = {"klinik_session": "eyJ1c2VyIjogImZ1enotcGV0dWdhcyJ9.forged.signature"} if session == "forged" else None
    return httpx.Client(base_url=server.url, timeout=60, follow_redirects=False, cookies=cookies)


@pytest.mark.parametrize("session", ["signed-in", "none", "forged"])
def test_the_decision_form_with_one_change_never_records_a_broken_one(http, server, staff, fixtures, session):
    coop_id = fixtures["decide"]["form_coop"]
    path = f"/koperasi/{coop_id}/keputusan"
    signed_in, token = staff
    browser = signed_in if session == "signed-in" else _browser(server, session)
    good = {"csrf_token": token, "decision": fixtures["decide"]["label"], "note": "kunjungan", "next": ""}
    if session == "signed-in":
        before = _entries(http, coop_id)
        done = signed_in.post(path, data=good)
        assert done.status_code == 303 and _entries(http, coop_id) == before + 1  # the starting point is good
    log = Log(server)

    @EXAMPLES
    @given(case=changed_form(good))
    def property_(case):
        field, change, value, fields, how = case
        body, content_type = encode_form(fields, how)
        before = _entries(http, coop_id)
        resp = browser.post(path, content=body, headers={"Content-Type": content_type})
        assert resp.status_code < 500, (field, change, value, resp.text[:500])
        _on_site(resp)
        broken = session != "signed-in" or decide_verdict(field, change, value, fixtures) == BREAKS
        if broken:
            assert resp.status_code >= 300 and _entries(http, coop_id) == before, (field, change, value)
        if session != "signed-in":
            assert resp.status_code == 303 and resp.headers["location"].startswith("/masuk"), resp.status_code

    try:
        property_()
    finally:
        if browser is not signed_in:
            browser.close()
    assert http.get("/readyz").status_code == 200
    assert "[ERROR]" not in log.new() and "Traceback" not in log.new()


@pytest.mark.parametrize("session", ["fresh", "none"])
def test_the_sign_in_form_with_one_change_never_signs_in(server, fixtures, session):
    """``fresh``: the token of a session just given by GET /masuk; ``none``: a token, but not the cookie."""
    good = {"csrf_token": "", "username": SIGNS_IN, "password": STAFF[SIGNS_IN], "next": "/daftar"}
    with _browser(server, "fresh") as browser:
        good["csrf_token"] = _token(browser.get("/masuk").text)
        first = browser.post("/masuk", data=good)
        assert first.status_code == 303 and first.headers["location"] == "/daftar"  # the starting point is good
    log = Log(server)

    @SIGN_IN_EXAMPLES
    @given(case=changed_form(good))
    def property_(case):
        field, change, value, fields, how = case
        with _browser(server, "fresh") as browser:
            token = _token(browser.get("/masuk").text)
            if session == "none":
                browser.cookies.clear()
            body, content_type = encode_form([(k, token if v == good["csrf_token"] else v) for k, v in fields], how)
            resp = browser.post("/masuk", content=body, headers={"Content-Type": content_type})
        assert resp.status_code < 500, (field, change, value, resp.text[:500])
        _on_site(resp)
        signed_in = resp.status_code < 400 and not resp.headers.get("location", "").startswith("/masuk")
        if session == "none" or login_verdict(field, change, value, fixtures) == BREAKS:
            assert not signed_in and 400 <= resp.status_code < 500, (field, change, value, resp.status_code)

    property_()
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    assert "[ERROR]" not in log.new() and "Traceback" not in log.new()


@pytest.mark.parametrize("form", ["/masuk", "decision"])
def test_any_body_at_a_form_is_never_a_5xx_nor_a_success(http, server, staff, fixtures, form):
    coop_id = fixtures["decide"]["form_coop"]
    path = "/masuk" if form == "/masuk" else f"/koperasi/{coop_id}/keputusan"
    signed_in, _ = staff
    log = Log(server)

    @EXAMPLES
    @given(
        body=st.one_of(
            st.binary(max_size=200),
            st.lists(st.tuples(st.text(max_size=12), FORM_VALUES), max_size=5).map(lambda p: urlencode(p).encode()),
        ),
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "multipart/form-data; boundary=fuzzbound",
                "application/json",
                "text/plain",
                None,
            ]
        ),  # fmt: skip
    )
    def property_(body, content_type):
        before = _entries(http, coop_id)
        headers = {"Content-Type": content_type} if content_type else {}
        if form == "/masuk":
            with _browser(server, "fresh") as browser:
                browser.get("/masuk")  # a session with its token, which the body does not know
                resp = browser.post(path, content=body, headers=headers)
        else:
            resp = signed_in.post(path, content=body, headers=headers)
        assert resp.status_code < 500, (body[:300], content_type, resp.text[:500])
        _on_site(resp)
        if form == "/masuk":
            assert 400 <= resp.status_code < 500, (body[:300], content_type, resp.status_code)
        assert _entries(http, coop_id) == before

    property_()
    assert http.get("/readyz").status_code == 200
    assert "[ERROR]" not in log.new() and "Traceback" not in log.new()
