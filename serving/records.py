"""The clinic's record: staff accounts, the officers' decisions on the advice, and the events around them.

One SQL database behind this one module: SQLite in ``work_dir/klinik.db`` by default (no server to start), a
PostgreSQL server when ``KLINIK_DATABASE_URL`` names one (``postgresql://user@host/db``, psycopg 3). The schema
is kept by the Alembic migrations in ``serving/migrations`` (``klinik db upgrade``); ``open_records`` refuses a
database whose schema is not the one this code was written for, with a one-line reason.

Decisions are append-only. A change is a new entry with the next ``version`` for the same cooperative and year;
the latest version is the decision in force, the earlier ones its history. This module has no way to update or
delete an entry, and the database refuses to: triggers on ``decisions`` and ``events`` abort any UPDATE or
DELETE (and TRUNCATE on PostgreSQL), whoever sends it. Two sessions deciding on the same cooperative at once
both land: the unique (coop_id, as_of_year, version) makes the later one retry with the next version.

Staff accounts: a unique name, a role (``petugas`` records decisions, ``kepala`` also reads the audit trail), an
argon2id password hash, and a pause after ``login_max_failures`` failed logins in a row. Logins, failed logins
and pauses go to ``events`` (never a password); names of people stay in the database, out of the logs.

Example::

    records = open_records(get_settings())
    records.add_user("ketut", "petugas", "a long passphrase")
    advice = Advice("KOP-000120", 2024, "JANGKAU", 0.49, None, "KEUANGAN", "koperasi-risk/3,...", "9f2c...")
    records.record_decision(NewDecision(advice, "dijangkau", None, officer="ketut"), source="api")
    records.decisions_for("KOP-000120")
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from klinik.serving import decisions as lists

if TYPE_CHECKING:
    from klinik.settings import Settings

ROLES = ("petugas", "kepala")
SOURCES = ("api", "web", "import", "batch")
NAME_MAX_CHARS = 100
PASSWORD_MIN_CHARS = 8
MIGRATIONS = Path(__file__).with_name("migrations")
_RETRIES = 8  # concurrent writers: a unique-version clash is retried with the next version


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC time on every backend (SQLite keeps no zone: stored as naive UTC, read back aware)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("times in the record must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


METADATA = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = sa.Table(
    "users",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME_MAX_CHARS), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("paused_until", UTCDateTime, nullable=True),
    sa.CheckConstraint("role IN ('petugas', 'kepala')", name="role"),
)

decisions = sa.Table(
    "decisions",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("coop_id", sa.String(64), nullable=False),
    sa.Column("as_of_year", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # the advice it answers
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("p_sick_next", sa.Float, nullable=True),
    sa.Column("p_recover", sa.Float, nullable=True),
    sa.Column("clinic", sa.String(16), nullable=True),
    sa.Column("model_version", sa.String(200), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=True),
    # the decision
    sa.Column("decision", sa.String(32), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("officer", sa.String(NAME_MAX_CHARS), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("coop_id", "as_of_year", "version", name="uq_decisions_entry"),
    sa.CheckConstraint("version >= 1", name="version"),
    sa.CheckConstraint("source IN ('api', 'web', 'import', 'batch')", name="source"),
    sa.Index("ix_decisions_year", "as_of_year"),
)

events = sa.Table(
    "events",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("user_name", sa.String(NAME_MAX_CHARS), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_events_at", "at"),
)

APPEND_ONLY = ("decisions", "events")


# ---------------------------------------------------------------- what comes out
@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    active: bool
    created_at: dt.datetime
    failed_logins: int
    paused_until: dt.datetime | None

    @property
    def can_audit(self) -> bool:
        return self.role == "kepala"


@dataclass(frozen=True)
class Login:
    """The answer to a login: ``user`` when ``outcome`` is "ok"; ``paused_until`` when the account pauses."""

    outcome: Literal["ok", "wrong", "paused", "inactive"]
    user: User | None = None
    paused_until: dt.datetime | None = None


@dataclass(frozen=True)
class Advice:
    """The batch job's advice a decision answers: one row of a run's scores, and that run's manifest hash."""

    coop_id: str
    as_of_year: int
    action: str
    p_sick_next: float | None
    p_recover: float | None
    clinic: str | None
    model_version: str
    manifest_sha256: str | None = None


@dataclass(frozen=True)
class NewDecision:
    """A decision to record: the advice, the decision typed (code or label), the note, the officer's name."""

    advice: Advice
    decision: str
    note: str | None
    officer: str


@dataclass(frozen=True)
class Decision:
    """One entry of the record (``version`` 1 is the first decision on this advice; the highest is in force)."""

    id: int
    coop_id: str
    as_of_year: int
    version: int
    action: str
    p_sick_next: float | None
    p_recover: float | None
    clinic: str | None
    model_version: str
    manifest_sha256: str | None
    decision: str
    note: str | None
    officer: str
    source: str
    recorded_at: dt.datetime

    @property
    def label(self) -> str:
        """The decision in Indonesian, as the lists show it."""
        return lists.label_of(self.action, self.decision)

    def same_as(self, decision: str, note: str | None) -> bool:
        return self.decision == decision and (self.note or None) == (note or None)


@dataclass(frozen=True)
class Event:
    id: int
    at: dt.datetime
    kind: str
    user_name: str | None
    detail: str | None


class RecordsError(Exception):
    """Something an officer or the operator must put right; the message says what and how."""


class SchemaOutOfDate(RecordsError):
    """The database's schema is not the one this code needs (``klinik db upgrade``)."""


# What a running server meets when the database fails under it (a PostgreSQL server stopped, a SQLite file
# damaged or replaced, a full disk): any error the database or its driver answers, at any call. With the
# RecordsError of a record that cannot be opened or is on another schema, the server answers it 503 (the API and
# the staff page), never 500: the record is unavailable, not the request wrong.
UNAVAILABLE = (RecordsError, sa.exc.DBAPIError)


def failure_line(err: BaseException) -> str:
    """Why the record could not be used, in one line (the driver's own words; never a password)."""
    cause = err.orig if isinstance(err, sa.exc.DBAPIError) and err.orig is not None else err
    words = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {words}" if isinstance(err, sa.exc.DBAPIError) else words


# ---------------------------------------------------------------- the schema (Alembic)
def _alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The schema revision this code needs (the newest migration)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def safe_url(engine: Engine) -> str:
    """The database URL without its password (fit for messages)."""
    return engine.url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets a busy timeout, foreign keys, and a write lock taken at BEGIN for writers (so two
    writers queue instead of failing on a lock upgrade). RecordsError for a URL no engine can be made of."""
    usable = "give sqlite:///PATH or postgresql://USER@HOST/NAME"
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise RecordsError(f"the database URL is not a URL: {usable}") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as err:  # a database or a driver klinik does not have
            shown = parsed.render_as_string(hide_password=True)
            raise RecordsError(f"the database URL {shown} cannot be used ({err}): {usable}") from None
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # BEGIN is sent below, so each transaction says what it takes
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def schema_state(engine: Engine) -> tuple[Literal["empty", "current", "behind", "unknown", "foreign"], str | None]:
    """Where the database's schema stands against this code, and its revision."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        return ("empty" if not tables & {"users", *APPEND_ONLY} else "foreign"), None
    if revision == head_revision():
        return "current", revision
    return ("behind" if revision in _known_revisions() else "unknown"), revision


def schema_problem(engine: Engine) -> str | None:
    """None when the schema is the one this code needs; else the reason, in one line, with what to do."""
    state, revision = schema_state(engine)
    where = safe_url(engine)
    if state == "current":
        return None
    if state == "empty":
        return f"the decision record at {where} has no tables yet: run `klinik db upgrade`"
    if state == "behind":
        return (
            f"the decision record at {where} is at schema {revision}, this code needs {head_revision()}: "
            "run `klinik db upgrade`"
        )
    if state == "unknown":
        return (
            f"the decision record at {where} is at schema {revision}, which this code does not know "
            "(made by a newer klinik?): update klinik"
        )
    return f"the database at {where} holds tables but no klinik schema revision: point KLINIK_DATABASE_URL elsewhere"


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to this code's revision; returns (revision before, revision after)."""
    from alembic import command

    before = schema_state(engine)[1]
    with engine.connect().execution_options(write=True) as conn:
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")
    return before, head_revision()


# ---------------------------------------------------------------- the record
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB, 3 passes)


def _user(row) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=row.role,
        active=bool(row.active),
        created_at=row.created_at,
        failed_logins=row.failed_logins,
        paused_until=row.paused_until,
    )


def _decision(row) -> Decision:
    return Decision(**{f: getattr(row, f) for f in Decision.__dataclass_fields__})


# A text holding NUL is never sent to the database: no name, id or note has one, and PostgreSQL refuses the whole
# statement (a DataError: a 500 for a client's mistake). Names refuse it when made, notes in decisions.check.
_NUL = "\x00"


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_CHARS or any(ord(ch) < 32 for ch in name):
        raise RecordsError(f"a user name is 1-{NAME_MAX_CHARS} printable characters")
    return name


class Records:
    """The record in one database (see the module's notes). Thread-safe: every call is its own transaction."""

    def __init__(self, engine: Engine, *, login_max_failures: int = 5, login_pause_seconds: int = 300):
        self.engine = engine
        self.login_max_failures = login_max_failures
        self.login_pause = dt.timedelta(seconds=login_pause_seconds)

    def __repr__(self) -> str:
        return f"Records({safe_url(self.engine)})"

    def close(self) -> None:
        self.engine.dispose()

    def _write(self):
        return self.engine.connect().execution_options(write=True)

    def _event(self, conn: Connection, kind: str, user_name: str | None, detail: str | None = None) -> None:
        conn.execute(events.insert().values(at=utcnow(), kind=kind, user_name=user_name, detail=detail))

    # ---- staff accounts
    def add_user(self, name: str, role: str, password: str) -> User:
        """A new staff account; RecordsError for a taken name, an unknown role or a short password."""
        name = _check_name(name)
        if role not in ROLES:
            raise RecordsError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if len(password or "") < PASSWORD_MIN_CHARS:
            raise RecordsError(f"a password has at least {PASSWORD_MIN_CHARS} characters")
        hashed = _hasher().hash(password)
        try:
            with self._write() as conn, conn.begin():
                conn.execute(
                    users.insert().values(
                        name=name,
                        role=role,
                        password_hash=hashed,
                        created_at=utcnow(),
                        active=True,
                        failed_logins=0,
                    )
                )
                self._event(conn, "user_added", name, f"role {role}")
        except IntegrityError:
            raise RecordsError(f"a user named {name!r} exists already") from None
        user = self.find_user(name)
        assert user is not None
        return user

    def find_user(self, name: str) -> User | None:
        if _NUL in (name or ""):  # no account has one (PostgreSQL refuses the query itself)
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == (name or "").strip())).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]

    def set_active(self, name: str, active: bool) -> User:
        """Switch an account off (it can no longer log in or decide) or back on; its entries stay."""
        with self._write() as conn, conn.begin():
            done = conn.execute(
                users.update().where(users.c.name == name).values(active=active, failed_logins=0, paused_until=None)
            )
            if done.rowcount == 0:
                raise RecordsError(f"no user named {name!r}")
            self._event(conn, "user_activated" if active else "user_deactivated", name)
        user = self.find_user(name)
        assert user is not None
        return user

    def login(self, name: str, password: str, now: dt.datetime | None = None) -> Login:
        """Check a name and password, count failures, pause the account after too many; every try is an event.

        An unknown name costs the same hashing as a known one, and answers the same ("wrong"); so does a wrong
        password for an inactive account. A paused account says so (and until when) to every try.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        now = now or utcnow()
        hasher = _hasher()
        user_row = None
        if _NUL not in (name or ""):
            with self.engine.connect() as conn:
                user_row = conn.execute(sa.select(users).where(users.c.name == (name or "").strip())).first()
        stored = user_row.password_hash if user_row is not None else _DUMMY_HASH.get(hasher)
        try:
            good = hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            good = False
        with self._write() as conn, conn.begin():
            if user_row is None:
                self._event(conn, "login_failed", None, "unknown name")
                return Login("wrong")
            row = conn.execute(sa.select(users).where(users.c.id == user_row.id)).one()
            if not row.active:  # said only to the one who knows the password
                self._event(conn, "login_refused", row.name, "account inactive")
                return Login("inactive" if good else "wrong")
            if row.paused_until is not None and row.paused_until > now:
                self._event(conn, "login_refused", row.name, "account paused")
                return Login("paused", paused_until=row.paused_until)
            if good:
                values: dict = {"failed_logins": 0, "paused_until": None}
                if hasher.check_needs_rehash(row.password_hash):
                    values["password_hash"] = hasher.hash(password)
                conn.execute(users.update().where(users.c.id == row.id).values(**values))
                self._event(conn, "login", row.name)
                return Login("ok", user=replace(_user(row), failed_logins=0, paused_until=None))
            failed = row.failed_logins + 1
            if failed >= self.login_max_failures:
                until = now + self.login_pause
                conn.execute(users.update().where(users.c.id == row.id).values(failed_logins=0, paused_until=until))
                self._event(conn, "login_paused", row.name, f"{failed} failed logins in a row")
                return Login("paused", paused_until=until)
            conn.execute(users.update().where(users.c.id == row.id).values(failed_logins=failed))
            self._event(conn, "login_failed", row.name, "wrong password")
            return Login("wrong")

    # ---- decisions
    def record_decision(self, new: NewDecision, source: str) -> tuple[Decision, bool]:
        """Record one decision; (the entry in force, True when a new entry was written). An entry equal to the
        one in force (same decision and note) is not written twice. DecisionInvalid / RecordsError on bad input."""
        [(entry, created)] = self.record_decisions([new], source)
        return entry, created

    def record_decisions(self, entries: Sequence[NewDecision], source: str) -> list[tuple[Decision, bool]]:
        """Record many decisions in one transaction: all of them, or (on any error) none."""
        if source not in SOURCES:
            raise RecordsError(f"source must be one of {', '.join(SOURCES)}")
        checked = []
        for new in entries:
            if _NUL in new.officer:
                raise RecordsError("no active staff account of that name")
            picked, note = lists.check(new.advice.action, new.decision, new.note)
            checked.append((new, picked.code, note))
        for attempt in range(_RETRIES):
            try:
                return self._insert(checked, source)
            except IntegrityError as err:
                if "uq_decisions_entry" not in str(err.orig) and "decisions.coop_id" not in str(err.orig):
                    raise
            except OperationalError as err:  # SQLite: a writer held the lock past the busy timeout
                if "locked" not in str(err.orig) or attempt == _RETRIES - 1:
                    raise
            time.sleep(0.01 * (attempt + 1))
        raise RecordsError("could not record the decisions: the record was busy; try again")

    def _insert(self, checked: list[tuple[NewDecision, str, str | None]], source: str) -> list[tuple[Decision, bool]]:
        now = utcnow()
        with self._write() as conn, conn.begin():
            officers = {new.officer for new, _, _ in checked}
            known = conn.execute(sa.select(users.c.name).where(users.c.name.in_(officers), users.c.active))
            missing = sorted(officers - set(known.scalars()))
            if missing:
                raise RecordsError(f"no active staff account named {missing[0]!r}: `klinik users add NAME --role ...`")
            latest: dict[tuple[str, int], Decision] = {}
            for year in {new.advice.as_of_year for new, _, _ in checked}:
                coops = {new.advice.coop_id for new, _, _ in checked if new.advice.as_of_year == year}
                latest.update(((d.coop_id, year), d) for d in self._latest(conn, year, coops).values())
            rows, kept = [], {}
            for i, (new, code, note) in enumerate(checked):
                a, key = new.advice, (new.advice.coop_id, new.advice.as_of_year)
                current = latest.get(key)
                if current is not None and current.action == a.action and current.same_as(code, note):
                    kept[i] = current
                    continue
                version = (current.version if current else 0) + 1
                row = {
                    "coop_id": a.coop_id,
                    "as_of_year": a.as_of_year,
                    "version": version,
                    "action": a.action,
                    "p_sick_next": a.p_sick_next,
                    "p_recover": a.p_recover,
                    "clinic": a.clinic,
                    "model_version": a.model_version,
                    "manifest_sha256": a.manifest_sha256,
                    "decision": code,
                    "note": note,
                    "officer": new.officer,
                    "source": source,
                    "recorded_at": now,
                }
                rows.append((i, row))
                latest[key] = Decision(id=0, **row)  # a second entry for the same coop in this batch goes after it
            written = {}
            if rows:
                result = conn.execute(
                    decisions.insert().returning(*decisions.c, sort_by_parameter_order=True), [r for _, r in rows]
                )
                written = {i: _decision(r) for (i, _), r in zip(rows, result)}
        return [(written[i], True) if i in written else (kept[i], False) for i in range(len(checked))]

    def _latest(
        self, conn: Connection, year: int, coop_ids: Iterable[str] | None = None, through_id: int | None = None
    ) -> dict[str, Decision]:
        newest = sa.select(decisions.c.coop_id, sa.func.max(decisions.c.version).label("version")).where(
            decisions.c.as_of_year == year
        )
        if through_id is not None:
            newest = newest.where(decisions.c.id <= through_id)
        if coop_ids is not None:
            coop_ids = list(coop_ids)
            if not coop_ids:
                return {}
            if len(coop_ids) <= 1000:  # else all of the year: one query, no parameter limit to meet
                newest = newest.where(decisions.c.coop_id.in_(coop_ids))
        newest = newest.group_by(decisions.c.coop_id).subquery()
        query = sa.select(decisions).join(
            newest, (decisions.c.coop_id == newest.c.coop_id) & (decisions.c.version == newest.c.version)
        )
        rows = conn.execute(query.where(decisions.c.as_of_year == year))
        return {r.coop_id: _decision(r) for r in rows}

    def latest_decisions(
        self, as_of_year: int, coop_ids: Iterable[str] | None = None, through_id: int | None = None
    ) -> dict[str, Decision]:
        """The decision in force per cooperative on the advice for ``as_of_year`` (coop_id -> Decision); with
        ``through_id``, the one in force when the newest entry was that id (what a workbook was written with)."""
        with self.engine.connect() as conn:
            return self._latest(conn, as_of_year, coop_ids, through_id)

    def last_id(self) -> int:
        """The id of the newest entry (0 for none): marks how far the record was read."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.coalesce(sa.func.max(decisions.c.id), 0))).scalar_one()

    def decisions_for(self, coop_id: str, as_of_year: int | None = None) -> list[Decision]:
        """Every entry for one cooperative (one year, or all), oldest first: its full history."""
        if _NUL in coop_id:
            return []
        query = sa.select(decisions).where(decisions.c.coop_id == coop_id)
        if as_of_year is not None:
            query = query.where(decisions.c.as_of_year == as_of_year)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(decisions.c.as_of_year, decisions.c.version))
            return [_decision(r) for r in rows]

    def history(self, limit: int = 200, before_id: int | None = None) -> list[Decision]:
        """All entries, newest first, ``limit`` at a time (pass the last id seen as ``before_id`` for the next
        page): the audit trail the ``kepala`` role reads."""
        query = sa.select(decisions).order_by(decisions.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(decisions.c.id < before_id)
        with self.engine.connect() as conn:
            return [_decision(r) for r in conn.execute(query)]

    def events(self, limit: int = 200, before_id: int | None = None) -> list[Event]:
        """Logins, failed logins, pauses and account changes, newest first (the audit trail's other half)."""
        query = sa.select(events).order_by(events.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(events.c.id < before_id)
        with self.engine.connect() as conn:
            return [Event(r.id, r.at, r.kind, r.user_name, r.detail) for r in conn.execute(query)]

    def note_event(self, kind: str, user_name: str | None, detail: str | None = None) -> None:
        """Add an event of the caller's (e.g. ``logout`` from the staff page, ``decisions_imported``)."""
        with self._write() as conn, conn.begin():
            self._event(conn, kind, user_name, detail)


class _DummyHash:
    """A hash of a random password, made once, that unknown names are checked against (same time as a real one)."""

    _value: str | None = None

    def get(self, hasher) -> str:
        if self._value is None:
            import secrets

            self._value = hasher.hash(secrets.token_hex(16))
        return self._value


_DUMMY_HASH = _DummyHash()


def open_records(settings: Settings, *, create: bool = True) -> Records:
    """The record named by the settings, ready to use, or SchemaOutOfDate with the reason in one line.

    An empty database (a first run: no tables at all) is given the schema when ``create``; a database at
    another schema revision is refused: migrating a record that holds decisions is the operator's step
    (``klinik db upgrade``, after a backup).
    """
    engine = make_engine(settings.records_url)
    try:
        state, _ = schema_state(engine)
        if state == "empty" and create:
            upgrade(engine)
        problem = schema_problem(engine)
    except OperationalError as err:
        engine.dispose()
        reason = str(err.orig).splitlines()[0] if err.orig is not None else str(err)
        raise RecordsError(f"cannot open the decision record at {safe_url(engine)}: {reason}") from None
    if problem is not None:
        engine.dispose()
        raise SchemaOutOfDate(problem)
    return Records(
        engine, login_max_failures=settings.login_max_failures, login_pause_seconds=settings.login_pause_seconds
    )


def copy_record(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row of the record at ``source`` into ``target`` (given the schema if empty; refused if it holds
    any row), keeping ids, in one transaction: the move from SQLite to PostgreSQL. Returns rows per table."""
    if schema_state(target)[0] == "empty":
        upgrade(target)
    for engine in (source, target):
        if problem := schema_problem(engine):
            raise SchemaOutOfDate(problem)
    copied = {}
    with source.connect() as src, target.connect().execution_options(write=True) as dst, dst.begin():
        for table in (users, decisions, events):
            if dst.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                raise RecordsError(f"{safe_url(target)} holds {table.name} already: copy into an empty database")
        for table in (users, decisions, events):
            rows = [r._asdict() for r in src.execute(sa.select(table).order_by(table.c.id))]
            if rows:
                dst.execute(table.insert(), rows)
            if target.dialect.name == "postgresql":  # the id sequence goes on after the copied ids
                dst.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
            copied[table.name] = len(rows)
    return copied
