"""The server's log: one line per request, nothing a client sends can forge a line, a client's mistake is no error.

BentoML writes the log of a serving worker (``bentoml._internal.log.configure_server_logging``): its access
middleware writes one INFO line per answered request, with the URL path as decoded, so ``%0d%0a`` in a path
would start a line of the client's choosing; and every request body that fails the request types is logged as
an ERROR with a traceback before BentoML answers 400. BentoML offers no hook for either, so this module adds
two logging filters to what BentoML configured (the guard installs them when the worker builds its app):

- ``OneLine`` on every handler (the staff page's too): control characters in a message (CR, LF, NUL, the
  Unicode line breaks) are written escaped (``\\r``, ``\\n``...). A traceback, written only for a server fault,
  keeps its lines.
- ``ClientMistakes`` on BentoML's request-error logger: a body BentoML itself answers with a 4xx (it broke the
  request types, or was not JSON) leaves no record of its own; the access line (``status=400``) is its one line.
  A 5xx keeps its ERROR and traceback: that is a fault of ours.

With ``KLINIK_DEBUG=1`` the client mistakes keep their tracebacks, for developers.
"""

from __future__ import annotations

import logging
import re

# BentoML logs every exception raised while answering an API request through this logger (log_exception).
BENTOML_REQUEST_ERRORS = "bentoml._internal.server.http_app"
# "klinik.web": the staff page writes its own lines (logins, slow pages, its errors) through its own handler
_LOGGERS_WITH_HANDLERS = ("", "bentoml", "uvicorn.error", "circus", "klinik.web")
_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with every control character and line break escaped: it cannot start a new log line."""
    return _BREAKS.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


class OneLine(logging.Filter):
    """Escapes control characters in a record's message (the access line's path, a header, a coop_id)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = one_line(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


def _answered_as_client_error(exc: BaseException | None) -> bool:
    """Whether BentoML answers this exception with a 4xx (see its api_endpoint_wrapper)."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return True  # 400: the body broke the request types, or was not JSON
    return isinstance(exc, BentoMLException) and int(exc.error_code) < 500


class ClientMistakes(logging.Filter):
    """Drops BentoML's ERROR-with-traceback for a request it answers 4xx: the access line already says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _answered_as_client_error(record.exc_info[1]))


def configure_server_log(debug: bool = False) -> None:
    """Add the filters to the logging BentoML set up in this worker (idempotent); our own loggers write INFO."""
    handlers = {id(h): h for name in _LOGGERS_WITH_HANDLERS for h in logging.getLogger(name).handlers}
    for handler in handlers.values():
        if not any(isinstance(f, OneLine) for f in handler.filters):
            handler.addFilter(OneLine())
    errors = logging.getLogger(BENTOML_REQUEST_ERRORS)
    for f in [f for f in errors.filters if isinstance(f, ClientMistakes)]:
        errors.removeFilter(f)
    if not debug:
        errors.addFilter(ClientMistakes())
    logging.getLogger("klinik").setLevel(logging.INFO)
