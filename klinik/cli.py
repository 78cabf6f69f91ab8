"""The one console command, ``klinik``: each sub-command is a thin typer function over one handler.

Every command follows one pattern:

- Where it lives: ``klinik X`` is ``run_X(...) -> int`` in the ``cmd.py`` of its stage -- data/cmd.py (simulate,
  validate, template), features/cmd.py (features), training/cmd.py (train), serving/cmd.py (score, serve,
  deploy-check), serving/decisions_cmd.py (db, users, decisions: the decision record) -- and the demo, which
  crosses every stage, is klinik/demo.py. The typer function here only turns the options into arguments, calls
  the handler and exits with what it returns. Heavy imports (pandas, mlflow, bentoml) happen inside the
  handlers, so ``klinik --help`` is instant.
- How it ends: the handler prints what it did to stdout and returns 0. When it cannot do its job it raises
  ``CommandFailed`` (klinik/commands.py), which the handler's ``@command("X")`` prints as one line
  ``klinik X: what is wrong and what to do`` on stderr; for invalid data (``DataRefused``) the loader's full
  report comes first, every problem with its file, row and column. ``klinik validate`` prints its report to
  stdout instead, since the report is what that command is for. The same decorator turns Ctrl-C and the
  failures of the surroundings (a path, a full disk, a registry or database that is down) into one line too;
  ``klinik --debug X`` (or KLINIK_DEBUG=1) adds the traceback, for developers.
- Exit codes: 0 done; 1 invalid input data or a step that failed; 2 usage (typer's own parsing errors, and
  arguments that cannot work, e.g. ``--as-of`` outside the data); 3 no usable model (none in the registry, or
  one the code can no longer feed: retrain); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import signal

# Ctrl-C while the command line itself loads is held back until the imports are done (a KeyboardInterrupt inside
# the import machinery prints its traceback however it is caught), then ends the program quietly with 130, as at
# any later moment. (Before this first line runs, while Python itself starts, a Ctrl-C is Python's to report.)
_held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if hasattr(signal, "pthread_sigmask") else None
import os  # noqa: E402
from enum import StrEnum  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402

try:
    if _held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, _held)  # a Ctrl-C pressed meanwhile arrives here
except KeyboardInterrupt:
    raise SystemExit(130) from None


class _Klinik(typer.Typer):
    def __call__(self, *args, **kwargs):
        # typer turns Ctrl-C inside a command into exit 130 itself; this covers the moments around it
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt:
            raise SystemExit(130) from None


# A traceback (a fault, or --debug) never lists local variables: they hold data and settings.
app = _Klinik(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Klinik Koperasi: risk of cooperatives.",
)


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="show the traceback of every failure (for developers; KLINIK_DEBUG=1)")
    ] = False,
) -> None:
    if debug:
        os.environ["KLINIK_DEBUG"] = "1"  # read by klinik.commands and by Settings, in this process and its children
    # An unreachable HTTP tracking server fails a command in seconds, not after minutes of MLflow's retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


def _parse_years(text: str) -> tuple[int, int]:
    try:
        first, last = (int(x) for x in text.split("-", 1))
    except ValueError:
        raise typer.BadParameter(f"expected FIRST-LAST, e.g. 2014-2024, got {text!r}") from None
    if last < first:
        raise typer.BadParameter(f"last year {last} is before first year {first}")
    return first, last


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="folder to write the dataset into")],
    coops: Annotated[int, typer.Option(min=1, help="number of cooperatives (Buleleng: 308)")] = 308,
    years: Annotated[str, typer.Option(help="fiscal years FIRST-LAST")] = "2014-2024",
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    format: Annotated[Format, typer.Option("--format", help="file format")] = Format.csv,
    dirty: Annotated[bool, typer.Option(help="inject the defects real offices produce")] = False,
    variant: Annotated[
        str, typer.Option(help="the world's variant (docs/simulator.md, A family of worlds)")
    ] = "baseline",
) -> None:
    """Write a simulated dataset (every contract table plus truth)."""
    from klinik.data.cmd import run_simulate

    raise typer.Exit(run_simulate(out, coops, _parse_years(years), seed, format.value, dirty, variant))


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Argument(help="dataset folder")],
    quarantine: Annotated[
        Path | None, typer.Option(help="write rows that break rules here instead of refusing")
    ] = None,
) -> None:
    """Check a dataset folder against the data contract."""
    from klinik.data.cmd import run_validate

    raise typer.Exit(run_validate(data_dir, quarantine))


@app.command()
def template(
    out: Annotated[Path, typer.Option(help="the workbook to write (.xlsx)")],
    coops: Annotated[
        Path | None, typer.Option(help="a dataset folder whose cooperatives the workbook lists already")
    ] = None,
) -> None:
    """Write the workbook an office fills in: a sheet per table, Indonesian headers, instructions, Excel checks."""
    from klinik.data.cmd import run_template

    raise typer.Exit(run_template(out, coops))


@app.command()
def features(
    data: Annotated[Path, typer.Option(help="dataset folder")],
    out: Annotated[Path, typer.Option(help="feature table to write (.parquet)")],
) -> None:
    """Build the point-in-time feature table for the data team."""
    from klinik.features.cmd import run_features

    raise typer.Exit(run_features(data, out))


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="dataset folder (with the health table)")],
) -> None:
    """Train, judge and register both models in MLflow; promote only what is better."""
    from klinik.training.cmd import run_train

    raise typer.Exit(run_train(data))


@app.command()
def score(
    data: Annotated[Path, typer.Option(help="dataset folder")],
    as_of: Annotated[int, typer.Option("--as-of", help="the fiscal year to score")],
    out: Annotated[Path, typer.Option(help="output folder (replaced atomically)")],
    model_version: Annotated[
        str | None, typer.Option(help="a registered version instead of champion, e.g. 3 or risk=3,recovery=2")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bars (for cron)")] = False,
    officer: Annotated[
        str | None,
        typer.Option(help="record decisions typed into the workbook being replaced under this staff account"),
    ] = None,
) -> None:
    """Score every registered cooperative and write the clinic's lists, report and manifest."""
    from klinik.serving.cmd import run_score

    raise typer.Exit(run_score(data, as_of, out, model_version=model_version, quiet=quiet, officer=officer))


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 3000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Start the HTTP service for clinic staff with the champion models."""
    from klinik.serving.cmd import run_serve

    raise typer.Exit(run_serve(host, port, workers))


@app.command("deploy-check")
def deploy_check(
    scores: Annotated[
        Path | None, typer.Option(help="the batch output folder to check (default: work_dir/scores/latest)")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="a running service's URL to check (repeat for each replica)")
    ] = None,
) -> None:
    """Whether the tracking server, the decision record, the champions, the batch output (and services) agree."""
    from klinik.serving.cmd import run_deploy_check

    raise typer.Exit(run_deploy_check(scores, service or []))


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="where the demo writes everything")] = Path("work/demo"),
) -> None:
    """The main job on embedded defaults: simulate Buleleng, validate, train, score, show the outreach list."""
    from klinik.demo import run_demo

    raise typer.Exit(run_demo(out))


# ---------------------------------------------------------------- the decision record (serving/records.py)
db_app = typer.Typer(no_args_is_help=True, help="The decision record's database (KLINIK_DATABASE_URL).")
users_app = typer.Typer(no_args_is_help=True, help="Staff accounts: petugas record decisions, kepala also audit.")
decisions_app = typer.Typer(no_args_is_help=True, help="Officers' decisions on the advice.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(decisions_app, name="decisions")


class Role(StrEnum):
    petugas = "petugas"
    kepala = "kepala"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the record's tables, or migrate them to this version of klinik (back the record up first)."""
    from klinik.serving.decisions_cmd import run_db_upgrade

    raise typer.Exit(run_db_upgrade())


@db_app.command("current")
def db_current() -> None:
    """Say which schema the record is at, and whether this version of klinik can use it."""
    from klinik.serving.decisions_cmd import run_db_current

    raise typer.Exit(run_db_current())


@db_app.command("copy")
def db_copy(
    target: Annotated[str, typer.Argument(help="an empty database, e.g. postgresql://klinik@dbserver/klinik")],
) -> None:
    """Copy the whole record (accounts, decisions, events) into an empty database: the move to PostgreSQL."""
    from klinik.serving.decisions_cmd import run_db_copy

    raise typer.Exit(run_db_copy(target))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="the login name")],
    role: Annotated[Role, typer.Option(help="petugas records decisions; kepala also reads the audit trail")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password as one line from standard input")
    ] = False,
) -> None:
    """Add a staff account; the password is asked twice at the terminal (never given on the command line)."""
    from klinik.serving.decisions_cmd import run_users_add

    raise typer.Exit(run_users_add(name, role.value, password_stdin))


@users_app.command("list")
def users_list() -> None:
    """List the staff accounts."""
    from klinik.serving.decisions_cmd import run_users_list

    raise typer.Exit(run_users_list())


@users_app.command("deactivate")
def users_deactivate(name: Annotated[str, typer.Argument()]) -> None:
    """Switch an account off: it can no longer log in or decide; what it recorded stays."""
    from klinik.serving.decisions_cmd import run_users_deactivate

    raise typer.Exit(run_users_deactivate(name))


@users_app.command("activate")
def users_activate(name: Annotated[str, typer.Argument()]) -> None:
    """Switch an account back on."""
    from klinik.serving.decisions_cmd import run_users_activate

    raise typer.Exit(run_users_activate(name))


@decisions_app.command("import")
def decisions_import(
    workbook: Annotated[Path, typer.Argument(help="a clinic workbook (klinik-koperasi-<year>.xlsx) staff filled in")],
    officer: Annotated[str, typer.Option(help="the staff account the decisions are recorded under")],
    scores: Annotated[
        Path | None, typer.Option(help="the batch output folder the workbook came from (default: its own folder)")
    ] = None,
) -> None:
    """Record the decisions typed into a workbook's "Keputusan petugas" and "Catatan" columns: all or none."""
    from klinik.serving.decisions_cmd import run_decisions_import

    raise typer.Exit(run_decisions_import(workbook, officer, scores))


if __name__ == "__main__":
    app()
