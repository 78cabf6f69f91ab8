"""What every ``klinik`` command shares: its exit codes and how it ends when it cannot do its job.

The pattern itself is described at the top of klinik/cli.py. This module imports nothing of the project, so
the handler of any stage can use it without breaking the one-way floors.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import sys
from collections.abc import Callable

EXIT_DONE = 0
EXIT_FAILED = 1  # the input data is invalid, or a step failed
EXIT_USAGE = 2  # the arguments cannot work (typer's own usage errors exit 2 as well)
EXIT_NO_MODEL = 3  # no usable model: none in the registry, or one the code can no longer feed
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)

NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # the disk, a quota, or a file size limit is full
# Failures of the model registry's store (MLflow, its database) are expected: a server down, a file unreachable.
_STORE_LIBRARIES = ("mlflow", "sqlalchemy", "psycopg", "psycopg2")
_CREDENTIALS = re.compile(r"//[^/\s@]+@")  # user:password@ in a store's URI


class CommandFailed(Exception):
    """The command cannot do its job: ``message`` is one line for stderr (without the command's name in front),
    ``code`` the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.message, self.code = message, code


class DataRefused(CommandFailed):
    """The dataset broke the contract: ``report`` is the loader's full report (every problem with its file, row
    and column), ``message`` says what was not done because of it."""

    def __init__(self, report: str, message: str):
        super().__init__(message, EXIT_FAILED)
        self.report = report


def debugging() -> bool:
    """``klinik --debug`` or KLINIK_DEBUG=1: failures show their traceback (read here, not from Settings: a
    broken KLINIK_ setting is itself one of the failures to report)."""
    return os.environ.get("KLINIK_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def expected_failure(err: BaseException) -> str | None:
    """One line for a failure of the machine or its surroundings rather than of the program (a path, a full disk,
    a registry or database that is down, a broken setting); None for anything else (a fault: its traceback)."""
    if isinstance(err, OSError):  # requests' and httpx's connection errors are OSErrors too
        if err.errno in NO_SPACE:
            return f"no space left to write {err.filename or 'the output'} ({err.strerror})"
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror or str(err) or type(err).__name__}{where}"
    libraries = {c.__module__.split(".")[0] for c in type(err).__mro__}
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
    if libraries & set(_STORE_LIBRARIES):
        text = _CREDENTIALS.sub("//***@", " ".join(str(err).split()))
        request = re.search(r"API request to (\w+://[^/\s]+)\S* failed", text)
        if request and re.search(r"Connection refused|Max retries exceeded|timed out|Name or service not", text):
            return f"the MLflow tracking server at {request[1]} does not answer: start it, or check MLFLOW_TRACKING_URI"
        return f"the model registry or its database cannot be used: {_CREDENTIALS.sub('//***@', first_line)}"
    if "pydantic_core" in libraries and getattr(err, "title", "") == "Settings":
        wrong = "; ".join(
            f"KLINIK_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in err.errors(include_input=False)
        )
        return f"a setting is invalid: {wrong}"  # without the value given: it may be a secret
    return None


def command(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Make a ``run_<name>`` handler end as every command does, with one line on stderr and an exit code, never a
    traceback for a failure the user can act on:

    - a :class:`CommandFailed` raised in it: the report of a :class:`DataRefused` first, then ``klinik <name>:
      <message>``, and its code;
    - Ctrl-C: ``klinik <name>: interrupted``, exit 130 (every output is written atomically: none is half done);
    - an expected failure of the surroundings (``expected_failure``): its one line, exit 1.

    With ``--debug`` (KLINIK_DEBUG=1) the line is followed by the traceback. Any other exception is a fault of
    the program and shows its traceback."""

    def wrap(handler: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(handler)
        def run(*args, **kwargs) -> int:
            try:
                return handler(*args, **kwargs)
            except CommandFailed as failed:
                if isinstance(failed, DataRefused):
                    print(failed.report, file=sys.stderr)
                return _end(name, failed.message, failed.code)
            except KeyboardInterrupt:
                return _end(name, "interrupted", EXIT_INTERRUPTED)
            except Exception as err:
                message = expected_failure(err)
                if message is None:
                    raise
                return _end(name, message, EXIT_FAILED)

        return run

    return wrap


def _end(name: str, message: str, code: int) -> int:
    """Called while the failure is being handled: its line, then (debugging) its traceback, else its code."""
    print(f"klinik {name}: {message}", file=sys.stderr)
    if debugging():
        raise  # the exception being handled by the caller
    return code
