"""What every ``klinik`` command shares: its exit codes and how it ends when it cannot do its job.

The pattern itself is described at the top of klinik/cli.py. This module imports nothing of the project, so
the handler of any stage can use it without breaking the one-way floors.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

EXIT_DONE = 0
EXIT_FAILED = 1  # the input data is invalid, or a step failed
EXIT_USAGE = 2  # the arguments cannot work (typer's own usage errors exit 2 as well)
EXIT_NO_MODEL = 3  # no usable model: none in the registry, or one the code can no longer feed


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


def command(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Make a ``run_<name>`` handler end as every command does: a :class:`CommandFailed` raised in it is printed
    to stderr (the report of a :class:`DataRefused` first, then ``klinik <name>: <message>``) and its code
    returned."""

    def wrap(handler: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(handler)
        def run(*args, **kwargs) -> int:
            try:
                return handler(*args, **kwargs)
            except CommandFailed as failed:
                if isinstance(failed, DataRefused):
                    print(failed.report, file=sys.stderr)
                print(f"klinik {name}: {failed.message}", file=sys.stderr)
                return failed.code

        return run

    return wrap
