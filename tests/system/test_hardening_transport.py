"""Hostile and broken HTTP at the real server's door: framing, media type, stalled and abandoned bodies, forged log
lines, and what the server log says about a client's mistakes.

The malformed cases are written byte by byte on a raw socket (an HTTP client would refuse to send them). All go
to the session's one server (tests/system/conftest.py), which must still be ready at the end.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from service_helpers import API_KEY, AS_OF, BODY_READ_TIMEOUT_S, MAX_BODY, Log

pytestmark = pytest.mark.slow
AUTH = f"Authorization: Bearer {API_KEY}\r\n".encode()


def _connect(server, timeout: float) -> socket.socket:
    where = urlsplit(server.url)
    return socket.create_connection((where.hostname, where.port), timeout=timeout)


def raw(server, request: bytes, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is; (status, headers, body) of the answer, read until the server closes or the
    body is complete."""
    with _connect(server, timeout) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything: read what it said
        data, closed = b"", False
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                if closed or len(body) >= int(headers.get("content-length", 1 << 62)):
                    return int(lines[0].split()[1]), headers, body
            elif closed:
                raise AssertionError(f"the server closed without an answer: {data[:300]!r}")
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            closed = not chunk
            data += chunk


def post_head(path: str, *headers: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: test\r\n".encode() + AUTH + "".join(f"{h}\r\n" for h in headers).encode()


def refusal(answer: bytes) -> str:
    """The error of a refusal at the door, checked to be in the service's one error shape (no field: the whole
    request is refused)."""
    body = json.loads(answer)
    assert body == {"error": body["error"], "detail": []} and isinstance(body["error"], str), body
    return body["error"]


def only_quiet_lines(text: str) -> list[str]:
    """The log lines, each checked to be one INFO or WARNING line (no ERROR, no traceback)."""
    lines = text.splitlines()
    for line in lines:
        assert re.match(r"^\S+ \[(INFO|WARNING)\] ", line), f"not a one-line INFO/WARNING entry: {line!r}\n{text}"
    return lines


# ------------------------------------------------------------------------------------------- media type
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "text/plain"],
)
def test_a_body_that_is_not_json_is_415_naming_its_type(server, content_type):
    body = b'{"coop_ids": ["KOP-000001"]}'
    log = Log(server)
    status, _, answer = raw(
        server, post_head("/score", f"Content-Type: {content_type}", f"Content-Length: {len(body)}") + b"\r\n" + body
    )
    assert status == 415, answer
    error = refusal(answer)
    assert content_type.split(";")[0] in error and "application/json" in error
    only_quiet_lines(log.wait_for(r"status=415"))


def test_json_with_a_charset_and_no_content_type_still_pass(http):
    for headers in ({"Content-Type": "application/json; charset=utf-8"}, {}):
        resp = http.post("/lookup", content=b'{"coop_ids": ["NO-SUCH-COOP"]}', headers=headers)
        assert resp.status_code == 404, (headers, resp.text)  # past the door: the id is simply unknown


# ------------------------------------------------------------------------------------------- framing, size
def test_content_length_with_chunked_is_400_and_never_read_past_the_limit(server):
    chunk = b" " * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 2)) + b"0\r\n\r\n"
    head = post_head("/score", "Content-Type: application/json", "Content-Length: 10", "Transfer-Encoding: chunked")
    status, headers, answer = raw(server, head + b"\r\n" + body)
    assert status == 400, answer
    assert "Content-Length" in refusal(answer) and "Transfer-Encoding" in refusal(answer)
    assert headers.get("connection") == "close"


def test_two_different_content_lengths_are_400(server):
    head = post_head("/lookup", "Content-Type: application/json", "Content-Length: 4", "Content-Length: 30")
    status, _, answer = raw(server, head + b"\r\n" + b'{"coop_ids": ["KOP-000001"]}')
    assert status == 400, answer  # the HTTP parser (h11) refuses it before the guard sees it


def test_a_chunked_body_is_counted_as_it_arrives(server):
    """No Content-Length to believe: the bytes read decide (413), whatever the chunks claim to be."""
    chunk = b" " * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 2)) + b"0\r\n\r\n"
    status, _, answer = raw(server, post_head("/score", "Transfer-Encoding: chunked") + b"\r\n" + body)
    assert status == 413 and str(MAX_BODY) in refusal(answer)


def test_a_body_that_stops_arriving_is_408_after_the_read_timeout(server, http):
    log = Log(server)
    started = time.monotonic()
    head = post_head("/lookup", "Content-Type: application/json", "Content-Length: 1000")
    status, headers, answer = raw(server, head + b'\r\n{"coop_ids": [', timeout=BODY_READ_TIMEOUT_S + 30)
    waited = time.monotonic() - started
    assert status == 408, answer
    assert "1000" in refusal(answer) and headers.get("connection") == "close"
    assert BODY_READ_TIMEOUT_S <= waited < BODY_READ_TIMEOUT_S + 20
    only_quiet_lines(log.wait_for(r"status=408"))
    assert http.get("/readyz").status_code == 200


# ------------------------------------------------------------------------------------------- the log
def test_a_client_that_hangs_up_mid_body_is_one_info_line(server):
    """Its request ends at once (answered 499, to nobody), so nothing waits on it: not the log, not a shutdown."""
    log = Log(server)
    with _connect(server, 10) as s:
        s.sendall(post_head("/score", "Content-Type: application/json", "Content-Length: 5000") + b'\r\n{"coop')
        time.sleep(0.3)
    (line,) = only_quiet_lines(log.wait_for(r"status=499"))
    assert "[INFO]" in line and "path=/score" in line and "length=5000" in line


def test_cr_lf_in_the_path_cannot_forge_a_log_line(server):
    log = Log(server)
    forged = "2030-01-01T00:00:00+0000 [ERROR] [entry_service:klinik:1] FORGED"
    path = "/x%0d%0a" + forged.replace(" ", "%20") + "%0d%0a%e2%80%a8tail"
    status, _, _ = raw(server, f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    assert status == 404
    (line,) = only_quiet_lines(log.wait_for(r"status=404"))  # one request, one line
    assert "path=/x\\r\\n2030-01-01T00:00:00+0000 [ERROR]" in line and "\\u2028tail" in line


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b'{"cooperatives": "all of them"}', b'{"cooperatives": [{"cooperative": {}}]}', b"{}"],
)
def test_a_rejected_body_is_one_info_line_not_an_error(server, http, body):
    log = Log(server)
    resp = http.post("/score", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    (line,) = only_quiet_lines(log.wait_for(r"status=400"))
    assert "path=/score" in line


def test_log_filters_escape_messages_and_keep_server_faults(tmp_path):
    """The filters themselves: a message never spans lines; a 4xx exception leaves no record, a fault does."""
    import logging

    from bentoml.exceptions import InvalidArgument, NotFound
    from pydantic import BaseModel, ValidationError

    from klinik.serving.logs import ClientMistakes, OneLine

    class M(BaseModel):
        n: int

    def record(exc: BaseException | None, msg="Exception on %s", args=("/score",)) -> logging.LogRecord:
        info = (type(exc), exc, None) if exc else None
        return logging.LogRecord("bentoml", logging.ERROR, __file__, 1, msg, args, info)

    try:
        M.model_validate({"n": "x"})
    except ValidationError as err:
        invalid = err
    keep = ClientMistakes()
    assert not keep.filter(record(invalid)) and not keep.filter(record(InvalidArgument("no")))
    assert not keep.filter(record(NotFound("no")))
    assert keep.filter(record(RuntimeError("a bug"))) and keep.filter(record(None))
    escaped = record(None, "path=%s done", ("/a\r\nB\x00\u2028",))
    assert OneLine().filter(escaped) and escaped.getMessage() == "path=/a\\r\\nB\\x00\\u2028 done"


def test_the_staff_pages_own_log_lines_are_escaped_and_in_the_servers_shape():
    """The staff page writes through a handler of its own (a slow page names its path): the same filter holds it."""
    import io
    import logging

    from klinik.serving.logs import configure_server_log
    from klinik.serving.web.app import _log_to_stderr

    _log_to_stderr()
    configure_server_log()
    # the page's own handler (pytest may have left its capture handlers on the logger after an in-process app)
    [handler] = [h for h in logging.getLogger("klinik.web").handlers if type(h) is logging.StreamHandler]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("klinik.web").info("%s took %.2f s", "/cari\r\n2030-01-01T00:00:00+0000 [ERROR] FORGED", 1.5)
    finally:
        handler.setStream(previous)
    (line,) = only_quiet_lines(stream.getvalue())
    assert "[klinik.web] /cari\\r\\n2030" in line


# ------------------------------------------------------------------------------------------- /lookup
def test_lookup_names_the_batch_run_not_a_path_on_the_server(http, batch):
    manifest = batch.with_name("manifest.json")
    resp = http.post("/lookup", json={"coop_ids": ["NO-SUCH-COOP", "KOP-000001"]})
    assert resp.status_code in (200, 404), resp.text
    if resp.status_code == 404:  # the world has no KOP-000001: ask for one it has
        import pandas as pd

        some = str(pd.read_parquet(batch)["coop_id"].iloc[0])
        resp = http.post("/lookup", json={"coop_ids": [some]})
    assert resp.status_code == 200, resp.text
    source = resp.json()["source"]
    assert source == {
        "as_of_year": AS_OF,
        "finished_at": json.loads(manifest.read_text())["finished_at"],
        "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
    }
    assert str(batch.parent) not in resp.text
    unknown = http.post("/lookup", json={"coop_ids": ["NO-SUCH-COOP"]})
    assert unknown.status_code == 404 and str(batch.parent) not in unknown.text
    body = unknown.json()  # the one error shape, naming the id's field, and which ids were not found
    assert [d["field"] for d in body["detail"]] == ["coop_ids[0]"] and body["not_found"] == ["NO-SUCH-COOP"], body


def test_zz_the_server_is_still_ready(server, http):
    assert server.proc.poll() is None
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    assert http.get("/model").status_code == 200
