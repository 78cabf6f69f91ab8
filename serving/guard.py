"""The service's door: the API key and the body-size limit, checked before BentoML reads a request.

An ASGI middleware (BentoML has no API keys of its own for self-hosting): every route of ours (``/score``,
``/rank``, ``/lookup``, ``/model``, ``/decisions``) needs ``Authorization: Bearer <KLINIK_API_KEY>`` when a key
is configured, compared in constant time; BentoML's own pages (``/livez``, ``/readyz``, ``/metrics``,
``/docs.json``, ``/schema.json``) stay open; the staff page at ``/`` has its own login (serving/web). A missing or
wrong key is answered 401 with ``WWW-Authenticate: Bearer`` from here: BentoML reserves 401 only for exceptions
raised inside an API (it then hides the message), and a response sent by a middleware passes through untouched.

A body larger than ``Settings.max_body_bytes`` is answered 413 before it is parsed: by its Content-Length when
the client sends one, else by counting while reading. ``GET /model`` is passed on as ``POST /model``, because
BentoML routes its APIs by POST only.
"""

from __future__ import annotations

import hmac
import json

from klinik.settings import get_settings

PROTECTED = ("/score", "/rank", "/lookup", "/model", "/decisions")


async def _answer(send, status: int, body: dict, headers: tuple = ()) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


class RequestGuard:
    def __init__(self, app):
        settings = get_settings()
        self.app = app
        self.key = (settings.api_key or "").encode() or None
        self.max_body = settings.max_body_bytes

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        given = headers.get(b"authorization", b"")
        scheme, _, token = given.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/") or "/"
        headers = dict(scope["headers"])
        if self.key is not None and path in PROTECTED and not self._authorised(headers):
            return await _answer(
                send,
                401,
                {"error": "missing or wrong API key: send the header 'Authorization: Bearer <key>'"},
                ((b"www-authenticate", b"Bearer"),),
            )
        if path == "/model" and scope["method"] == "GET":
            scope = {**scope, "method": "POST"}

        too_large = {
            "error": f"request body larger than {self.max_body} bytes (KLINIK_MAX_BODY_BYTES): "
            f"send fewer cooperatives per request"
        }
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await _answer(send, 400, {"error": "Content-Length is not a number"})
            if int(length) > self.max_body:
                return await _answer(send, 413, too_large)
            return await self.app(scope, receive, send)

        # No Content-Length (chunked): read the body here, counting, and hand it on whole.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            size += len(message.get("body", b""))
            if size > self.max_body:
                return await _answer(send, 413, too_large)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
