"""One shape for every error the service answers, whoever found it.

``{"error": what is wrong, "detail": [{"loc": [...], "field": "cooperatives[0].financials[2].cash", "msg": ...,
"type": ...}, ...]}``, plus ``counts`` (by field and rule) when a request has more problems than it lists: the
shape of the service's own refusals (serving/service_io.py ``answer_body``), the door's (serving/guard.py: no
field, ``detail`` empty) and the decision record's. BentoML answers the automatic input check (pydantic's, on the
request types of serving/schemas.py) itself, in another shape: ``{"error": "1 validation error for
ScoreRequestIODescriptor", "detail": [{"type", "loc", "msg", "url"}]}``, naming an internal class and no field;
some of its other refusals are a list holding one ``{"error": ...}``. This ASGI middleware rewrites those answers
into the one shape on the way out (an error body is small), so a client reads every 4xx the same way: the
message, and for each problem the field, as a path.
"""

from __future__ import annotations

import json
from typing import Any

from klinik.serving.schemas import COUNTED
from klinik.serving.service_io import answer_body, problem_entry

TYPE_ERROR = "the request does not fit the service's input types"


def one_shape(body: Any) -> dict | None:
    """``body`` (an error answer, parsed) in the one shape; None when it already is (or is no error answer)."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict) or "error" not in body:
        return None
    detail = body.get("detail")
    if isinstance(detail, list) and all(isinstance(d, dict) and "field" in d for d in detail):
        return None  # ours already
    out = {k: v for k, v in body.items() if k not in ("error", "detail")}
    if not isinstance(detail, list):
        return {**answer_body(str(body["error"]), []), **out}
    problems, counts = [], []
    for d in detail:
        loc = [p for p in d.get("loc", []) if isinstance(p, str | int)]
        if d.get("type") == COUNTED and len(loc) == 3:  # a request with too many type errors (schemas._Request)
            counts.append(tuple(loc))
        else:
            problems.append(problem_entry(loc, d.get("msg", ""), d.get("type", "")))
    error = TYPE_ERROR if "validation error" in str(body["error"]) else str(body["error"])
    if problems and not counts:
        error = f"{error} ({len(problems)} problem(s))"
    return {**answer_body(error, problems, counts), **out}


class ErrorFormat:
    """ASGI middleware: an error answer (status 400-499, JSON) leaves in the one shape (see the module)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict = {}
        chunks: list[bytes] = []

        async def rewriting(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                is_json = headers.get(b"content-type", b"").startswith(b"application/json")
                if 400 <= message["status"] < 500 and is_json:
                    held["start"] = message
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and "start" in held:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                try:
                    shaped = one_shape(json.loads(body))
                except ValueError:
                    shaped = None
                if shaped is not None:
                    body = json.dumps(shaped).encode()
                start = held.pop("start")
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, rewriting)
