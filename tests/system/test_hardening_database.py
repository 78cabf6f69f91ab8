"""The decision record's database fails while the server runs: the API and the staff page say so (503, one line),
never 500, the log holds one line per refusal and no traceback, and all is well again once the database is back.

Each case starts its own `klinik serve` (the session's shared server must keep its record): on SQLite, the
database file is overwritten in place with bytes that are no database (the server's open connections read the
same file; a removed file would fail the writes only: SQLite refuses to write a database moved away, while an open
connection still reads the removed file; and the test runs as root, so taking away the file's permissions would
not do); on PostgreSQL, a server of its own is stopped.
"""

from __future__ import annotations

import re

import httpx
import pytest
from postgres_server import PostgresServer
from service_helpers import API_KEY, AS_OF, Log, add_staff, running_server

pytestmark = pytest.mark.slow
OFFICER, PASSWORD = "petugas-basis-data", "sandi-basis-data-2024"
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')
PAGE_TITLE = "Catatan keputusan sedang tidak dapat dipakai"


class SqliteFile:
    """A SQLite record whose file can be made unreadable (not a database) and mended, in place."""

    def __init__(self, folder):
        self.path = folder / "klinik.db"
        self.url = f"sqlite:///{self.path}"
        self.kept = b""

    def fail(self) -> None:
        self.kept = self.path.read_bytes()
        with open(self.path, "r+b") as handle:  # the same file, so every open connection reads the damage
            handle.write(b"this is no longer a database " * 8)

    def mend(self) -> None:
        with open(self.path, "r+b") as handle:
            handle.write(self.kept)

    def close(self) -> None:
        pass


class PostgresDown:
    """A record on a PostgreSQL server of its own, which can be stopped and started again."""

    def __init__(self, folder):
        self.server = PostgresServer().start()
        self.url = self.server.new_database()

    def fail(self) -> None:
        self.server.pause()

    def mend(self) -> None:
        self.server.resume()

    def close(self) -> None:
        self.server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def serving(request, trained_registry, batch, tmp_path):
    """(server, database): `klinik serve` on a record with one staff account, and the record's database."""
    from klinik.settings import get_settings

    database = (SqliteFile if request.param == "sqlite" else PostgresDown)(tmp_path)
    try:
        add_staff(get_settings(work_dir=tmp_path / "work", database_url=database.url), {OFFICER: PASSWORD})
        with running_server(
            trained_registry,
            tmp_path,
            KLINIK_API_KEY=API_KEY,
            KLINIK_LOOKUP_SCORES_PATH=str(batch),
            KLINIK_DATABASE_URL=database.url,
        ) as server:
            yield server, database
    finally:
        database.close()


def _token(page: str) -> str:
    found = TOKEN.search(page)
    assert found, page[:500]
    return found[1]


def _sign_in(browser: httpx.Client) -> str:
    """Sign ``browser`` in as the officer; the CSRF token of its session."""
    token = _token(browser.get("/masuk").text)
    done = browser.post("/masuk", data={"csrf_token": token, "username": OFFICER, "password": PASSWORD})
    assert done.status_code == 303, done.text[:500]
    return _token(browser.get("/").text)


def _unavailable_json(resp: httpx.Response) -> str:
    assert resp.status_code == 503, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert body == {"error": body["error"], "detail": []}, body  # the service's one error shape
    assert "\n" not in body["error"] and "unavailable" in body["error"], body
    return body["error"]


def _unavailable_page(resp: httpx.Response) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("text/html")
    assert PAGE_TITLE in resp.text and "Coba lagi sebentar lagi" in resp.text, resp.text[:2000]
    assert "Traceback" not in resp.text and "sqlalchemy" not in resp.text.lower()


def test_a_database_that_fails_under_the_server_is_503_then_all_is_well_again(serving, batch):
    import pandas as pd

    server, database = serving
    scores = pd.read_parquet(batch, columns=["coop_id", "action"])
    coop_id = str(scores.loc[scores["action"] == "JANGKAU", "coop_id"].iloc[0])
    decision = {"coop_id": coop_id, "as_of_year": AS_OF, "decision": "dijadwalkan", "officer": OFFICER}
    form = f"/koperasi/{coop_id}/keputusan"
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)
    with api as http, httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as browser:
        token = _sign_in(browser)
        assert http.post("/decisions", json=decision).status_code == 201
        assert http.get("/decisions", params={"coop_id": coop_id}).status_code == 200

        log = Log(server)
        database.fail()
        _unavailable_json(http.get("/decisions", params={"coop_id": coop_id}))
        _unavailable_json(http.post("/decisions", json={**decision, "note": "kunjungan kedua"}))
        _unavailable_page(browser.post(form, data={"csrf_token": token, "decision": "dijadwalkan", "note": "x"}))
        _unavailable_page(browser.get(f"/koperasi/{coop_id}"))
        with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as stranger:
            signing_in = _token(stranger.get("/masuk").text)  # the sign-in page itself needs no record
            fields = {"csrf_token": signing_in, "username": OFFICER, "password": PASSWORD}
            _unavailable_page(stranger.post("/masuk", data=fields))

        refusals = log.wait_for(r"(?s)(decision record unavailable.*){5}")
        assert "Traceback" not in refusals, refusals[-3000:]
        errors = [line for line in refusals.splitlines() if "[ERROR]" in line]
        assert len(errors) == 5 and all("decision record unavailable" in line for line in errors), refusals
        assert PASSWORD not in refusals

        database.mend()
        again = http.post("/decisions", json={**decision, "note": "kunjungan kedua"})
        assert again.status_code == 201, again.text[:500]
        assert browser.post(form, data={"csrf_token": token, "decision": "dijadwalkan"}).status_code == 303
        listed = http.get("/decisions", params={"coop_id": coop_id})
        assert listed.status_code == 200 and len(listed.json()["decisions"]) == 3, listed.text[:1000]
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
