"""``klinik db``, ``klinik users`` and ``klinik decisions``: the decision record from the command line.

Each function returns the exit code: 0 done, 1 the record or the input refused (the message says why and what
to do). A password is never taken from the command line: it is asked twice at the terminal, or read as one line
from standard input (``--password-stdin``, for scripts). Names of people are printed to the terminal that typed
them, never logged.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_REFUSED = 1


def _err(command: str, message: str) -> int:
    print(f"klinik {command}: {message}", file=sys.stderr)
    return EXIT_REFUSED


def run_db_upgrade() -> int:
    from sqlalchemy.exc import OperationalError

    from klinik.serving import records
    from klinik.settings import get_settings

    engine = records.engine_for(get_settings())
    try:
        state, _ = records.schema_state(engine)
        if state in ("unknown", "foreign"):
            return _err("db upgrade", records.schema_problem(engine) or state)
        before, after = records.upgrade(engine)
    except OperationalError as err:
        return _err("db upgrade", f"cannot open {records.safe_url(engine)}: {str(err.orig).splitlines()[0]}")
    finally:
        engine.dispose()
    where = records.safe_url(engine)
    if before == after:
        print(f"the decision record at {where} is at schema {after} already")
    else:
        print(f"the decision record at {where}: schema {before or 'none'} -> {after}")
    return 0


def run_db_current() -> int:
    from sqlalchemy.exc import OperationalError

    from klinik.serving import records
    from klinik.settings import get_settings

    engine = records.engine_for(get_settings())
    try:
        problem = records.schema_problem(engine)
        state, revision = records.schema_state(engine)
    except OperationalError as err:
        return _err("db current", f"cannot open {records.safe_url(engine)}: {str(err.orig).splitlines()[0]}")
    finally:
        engine.dispose()
    print(f"{records.safe_url(engine)}: schema {revision or 'none'} (this code needs {records.head_revision()})")
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_REFUSED
    return 0


def run_db_copy(target_url: str) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from klinik.serving import records
    from klinik.settings import get_settings

    source, target = records.engine_for(get_settings()), records.make_engine(target_url)
    try:
        copied = records.copy_record(source, target)
    except records.RecordsError as err:
        return _err("db copy", str(err))
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        return _err("db copy", f"cannot copy to {records.safe_url(target)}: {reason}")
    finally:
        source.dispose()
        target.dispose()
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
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def _on_record(command: str, work) -> int:
    """``work(records)`` on the record the settings name; a refusal from either is one line and exit 1."""
    from klinik.serving.records import RecordsError, open_records
    from klinik.settings import get_settings

    try:
        records = open_records(get_settings())
    except RecordsError as err:
        return _err(command, str(err))
    try:
        return work(records)
    except RecordsError as err:
        return _err(command, str(err))
    finally:
        records.close()


def run_users_add(name: str, role: str, password_stdin: bool) -> int:
    try:
        password = _read_password(password_stdin)
    except ValueError as err:
        return _err("users add", str(err))

    def add(records) -> int:
        user = records.add_user(name, role, password)
        print(f"added {user.name} ({user.role})")
        return 0

    return _on_record("users add", add)


def run_users_list() -> int:
    def show(records) -> int:
        for u in records.list_users():
            state = "active" if u.active else "inactive"
            print(f"{u.name}\t{u.role}\t{state}\tsince {u.created_at:%Y-%m-%d}")
        return 0

    return _on_record("users list", show)


def run_users_active(name: str, active: bool) -> int:
    def switch(records) -> int:
        user = records.set_active(name, active)
        print(f"{user.name} is {'active' if user.active else 'inactive'}")
        return 0

    return _on_record("users activate" if active else "users deactivate", switch)


def run_decisions_import(workbook: Path, officer: str, scores: Path | None) -> int:
    from klinik.serving.decisions import DecisionInvalid
    from klinik.serving.decisions_io import ImportRefused, import_workbook

    def run(records) -> int:
        try:
            done = import_workbook(records, Path(workbook), officer, scores)
        except (ImportRefused, DecisionInvalid) as err:
            return _err("decisions import", f"{err}\nNothing was imported from {workbook}.")
        left = f", {done.superseded} left as the record holds a newer decision" if done.superseded else ""
        print(
            f"{workbook}: {done.recorded} decision(s) recorded, {done.unchanged} already in the record{left} "
            f"(fiscal year {done.as_of_year})"
        )
        return 0

    return _on_record("decisions import", run)
