"""The decision record's commands: ``klinik db`` (upgrade, current, copy), ``klinik users`` (add, list, activate,
deactivate) and ``klinik decisions import`` (serving/records.py, serving/decisions_io.py).

They end as every command does (klinik/commands.py): what was done on stdout and 0, or one line ``klinik X: what
is wrong and what to do`` on stderr and 1. A password is never taken from the command line: it is asked twice at
the terminal, or read as one line from standard input (``--password-stdin``, for scripts). Names of people are
printed to the terminal that typed them, never logged.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from klinik.commands import EXIT_FAILED, CommandFailed, command

if TYPE_CHECKING:
    from klinik.serving.records import Records


@contextlib.contextmanager
def _record() -> Iterator[Records]:
    """The record the settings name, closed afterwards; its refusals end the command in one line."""
    from klinik.serving.records import RecordsError, open_records
    from klinik.settings import get_settings

    try:
        records = open_records(get_settings())
    except RecordsError as err:
        raise CommandFailed(str(err)) from None
    try:
        yield records
    except RecordsError as err:
        raise CommandFailed(str(err)) from None
    finally:
        records.close()


def _engine(url: str, which: str = "KLINIK_DATABASE_URL"):
    """An engine on ``url``; a URL no engine can be made of ends the command in one line naming ``which``."""
    from klinik.serving.records import RecordsError, make_engine

    try:
        return make_engine(url)
    except RecordsError as err:
        raise CommandFailed(f"{which}: {err}") from None


@contextlib.contextmanager
def _reached(engine) -> Iterator[None]:
    """A database that cannot be reached ends the command in one line; the engine is closed afterwards."""
    from sqlalchemy.exc import OperationalError

    from klinik.serving.records import safe_url

    try:
        yield
    except OperationalError as err:
        reason = str(err.orig or err).splitlines()[0]
        raise CommandFailed(f"cannot open {safe_url(engine)}: {reason}") from None
    finally:
        engine.dispose()


@command("db upgrade")
def run_db_upgrade() -> int:
    """Create the record's tables, or migrate them to this code's schema."""
    from klinik.serving import records
    from klinik.settings import get_settings

    engine = _engine(get_settings().records_url)
    with _reached(engine):
        if records.schema_state(engine)[0] in ("unknown", "foreign"):
            raise CommandFailed(records.schema_problem(engine) or "the database cannot be upgraded")
        before, after = records.upgrade(engine)
    where = records.safe_url(engine)
    if before == after:
        print(f"the decision record at {where} is at schema {after} already")
    else:
        print(f"the decision record at {where}: schema {before or 'none'} -> {after}")
    return 0


@command("db current")
def run_db_current() -> int:
    """Say which schema the record is at; fail when this code cannot use it."""
    from klinik.serving import records
    from klinik.settings import get_settings

    engine = _engine(get_settings().records_url)
    with _reached(engine):
        problem = records.schema_problem(engine)
        revision = records.schema_state(engine)[1]
    print(f"{records.safe_url(engine)}: schema {revision or 'none'} (this code needs {records.head_revision()})")
    if problem:
        raise CommandFailed(problem, EXIT_FAILED)
    return 0


@command("db copy")
def run_db_copy(target_url: str) -> int:
    """Copy the whole record into the empty database at ``target_url``."""
    from klinik.serving import records
    from klinik.settings import get_settings

    source, target = _engine(get_settings().records_url), _engine(target_url, "the target")
    with _reached(source), _reached(target):
        try:
            copied = records.copy_record(source, target)
        except records.RecordsError as err:
            raise CommandFailed(str(err)) from None
    counts = ", ".join(f"{n} {table}" for table, n in copied.items())
    print(f"copied {counts} from {records.safe_url(source)} to {records.safe_url(target)}")
    print(f"now set KLINIK_DATABASE_URL={records.safe_url(target)} (with its password) for every klinik command")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise CommandFailed("the two passwords differ; nothing was changed")
    return first


@command("users add")
def run_users_add(name: str, role: str, password_stdin: bool) -> int:
    password = _read_password(password_stdin)
    with _record() as records:
        user = records.add_user(name, role, password)
    print(f"added {user.name} ({user.role})")
    return 0


@command("users list")
def run_users_list() -> int:
    with _record() as records:
        for u in records.list_users():
            state = "active" if u.active else "inactive"
            print(f"{u.name}\t{u.role}\t{state}\tsince {u.created_at:%Y-%m-%d}")
    return 0


def _set_active(name: str, active: bool) -> int:
    with _record() as records:
        user = records.set_active(name, active)
    print(f"{user.name} is {'active' if user.active else 'inactive'}")
    return 0


@command("users activate")
def run_users_activate(name: str) -> int:
    return _set_active(name, True)


@command("users deactivate")
def run_users_deactivate(name: str) -> int:
    return _set_active(name, False)


@command("decisions import")
def run_decisions_import(workbook: Path, officer: str, scores: Path | None) -> int:
    """Record the decisions typed into ``workbook``: all of them, or none (every problem listed)."""
    from klinik.serving.decisions import DecisionInvalid
    from klinik.serving.decisions_io import ImportRefused, import_workbook

    with _record() as records:
        try:
            done = import_workbook(records, Path(workbook), officer, scores)
        except (ImportRefused, DecisionInvalid) as err:
            raise CommandFailed(f"{err}\nNothing was imported from {workbook}.") from None
    left = f", {done.superseded} left as the record holds a newer decision" if done.superseded else ""
    print(
        f"{workbook}: {done.recorded} decision(s) recorded, {done.unchanged} already in the record{left} "
        f"(fiscal year {done.as_of_year})"
    )
    return 0
