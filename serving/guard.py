"""The service's door: the API key, the request's framing, its media type and its body, checked before BentoML.

An ASGI middleware (BentoML has no API keys of its own for self-hosting): every route of ours (``/score``,
``/rank``, ``/lookup``, ``/model``, ``/decisions``) needs ``Authorization: Bearer <KLINIK_API_KEY>`` when a key
is configured, compared in constant time; BentoML's own pages (``/livez``, ``/readyz``, ``/metrics``,
``/docs.json``, ``/schema.json``) stay open; the staff page at ``/`` has its own login (serving/web). A missing or
wrong key is answered 401 with ``WWW-Authenticate: Bearer`` from here: BentoML reserves 401 only for exceptions
raised inside an API (it then hides the message), and a response sent by a middleware passes through untouched.

Then, for every request, before anything parses it:

- one framing: ``Content-Length`` together with ``Transfer-Encoding`` (or two different lengths) is answered
  400. The server reads such a body as chunked, so a length header would otherwise vouch for bytes it never
  counted (a request smuggling shape too);
- our JSON routes take JSON: another ``Content-Type`` (a form, a multipart body with or without a boundary) is
  answered 415 naming it, instead of reaching BentoML's form parser;
- the body is read here, whole, counting the bytes actually received: more than ``Settings.max_body_bytes`` is
  answered 413 (at once when the Content-Length says so); a body that stops arriving for
  ``Settings.body_read_timeout_s`` is answered 408; a client that hangs up mid-body is answered 499, to nobody:
  BentoML's access line (``status=499``) is its one line. The body is then handed on as it came.

Its refusals have the service's one error shape (serving/errors.py), with an empty ``detail``: they concern the
whole request, no field of it. ``GET /model`` is passed on as ``POST /model``, because BentoML routes its APIs by
POST only. Early answers close the connection (the rest of an unread body must not be read as the next request).
"""

from __future__ import annotations

import asyncio
import hmac
import json

from klinik.serving.logs import configure_server_log, one_line
from klinik.serving.service_io import answer_body
from klinik.settings import get_settings

PROTECTED = ("/score", "/rank", "/lookup", "/model", "/decisions")
JSON_ROUTES = PROTECTED
CLIENT_GONE = 499  # as nginx logs a request whose client closed the connection first


class Refused(Exception):
    """A request answered here, before the app: its status, the error in words, extra headers."""

    def __init__(self, status: int, error: str, headers: tuple = ()):
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers


async def _answer(send, refused: Refused) -> None:
    data = json.dumps(answer_body(refused.error, [])).encode()  # the one shape; no field: the whole request
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
                *refused.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _header_values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v.strip() for k, v in headers if k.lower() == name]


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body's length as the request frames it; Refused when the framing is ambiguous."""
    lengths = _header_values(headers, b"content-length")
    if lengths and _header_values(headers, b"transfer-encoding"):
        raise Refused(400, "both Content-Length and Transfer-Encoding were sent: send one of them")
    if not lengths:
        return None
    if len(set(lengths)) > 1:
        raise Refused(400, "more than one Content-Length, with different values")
    if not lengths[0].isdigit():
        raise Refused(400, "Content-Length is not a number")
    return int(lengths[0])


def _media_type(headers: list[tuple[bytes, bytes]]) -> str:
    given = _header_values(headers, b"content-type")
    return given[-1].split(b";")[0].strip().lower().decode("latin-1") if given else ""


def _check_json(headers: list[tuple[bytes, bytes]]) -> None:
    media = _media_type(headers)
    if media and media != "application/json" and not media.endswith("+json"):
        raise Refused(
            415,
            f"Content-Type {one_line(media)!r} is not accepted here: send the body as JSON, with the header "
            "'Content-Type: application/json'",
        )


class RequestGuard:
    def __init__(self, app):
        settings = get_settings()
        self.app = app
        self.key = (settings.api_key or "").encode() or None
        self.max_body = settings.max_body_bytes
        self.read_timeout = settings.body_read_timeout_s
        # Built in the serving worker, after BentoML configured its log: the log's filters join it here.
        configure_server_log(debug=settings.debug)

    def _authorised(self, headers: list[tuple[bytes, bytes]]) -> bool:
        given = (_header_values(headers, b"authorization") or [b""])[-1]
        scheme, _, token = given.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)

    def _too_large(self) -> Refused:
        return Refused(
            413,
            f"request body larger than {self.max_body} bytes (KLINIK_MAX_BODY_BYTES): send fewer cooperatives "
            "per request",
        )

    async def _read_body(self, receive, declared: int | None) -> bytes:
        """The whole body, counted as it arrives; else Refused (413, 408, or 499 when the client went away)."""
        if declared is not None and declared > self.max_body:
            raise self._too_large()
        chunks, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                promised = f" of the {declared} promised" if declared is not None else ""
                raise Refused(
                    408,
                    f"the request body stopped arriving: {size} bytes{promised} received, then nothing for "
                    f"{self.read_timeout:g} s",
                ) from None
            if message["type"] != "http.request":
                promised = f" of {declared}" if declared is not None else ""
                raise Refused(CLIENT_GONE, f"client hung up after {size}{promised} bytes of its body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/") or "/"
        headers = scope["headers"]
        try:
            if self.key is not None and path in PROTECTED and not self._authorised(headers):
                raise Refused(
                    401,
                    "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                    ((b"www-authenticate", b"Bearer"),),
                )
            declared = _declared_length(headers)
            if path in JSON_ROUTES:
                _check_json(headers)
            body = await self._read_body(receive, declared)
        except Refused as refused:
            # answered even when nobody is left to read it: the middlewares around (BentoML's timeout, its access
            # line) see the request end (one that never answers holds the server's shutdown for minutes)
            return await _answer(send, refused)

        if path == "/model" and scope["method"] == "GET":
            scope = {**scope, "method": "POST"}
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
