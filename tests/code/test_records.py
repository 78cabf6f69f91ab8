"""The decision record (serving/records.py) on SQLite and on a real PostgreSQL server: schema, staff accounts,
logins and their pause, decisions with their fixed lists, append-only history, and two sessions at once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from klinik.serving import records as rec
from klinik.serving.decisions import CHOICES, DecisionInvalid
from klinik.settings import get_settings

PASSWORD = "kopi-tubruk-pagi"


@pytest.fixture
def records(database_url):
    r = rec.open_records(get_settings(database_url=database_url, login_max_failures=3, login_pause_seconds=60))
    yield r
    r.close()


@pytest.fixture
def officer(records) -> str:
    return records.add_user("ketut", "petugas", PASSWORD).name


def advice(coop="KOP-000120", year=2024, action="JANGKAU", **kw) -> rec.Advice:
    values = dict(p_sick_next=0.49, p_recover=None, clinic="KEUANGAN", model_version="koperasi-risk/3")
    values.update(kw)
    return rec.Advice(coop, year, action, manifest_sha256="ab" * 32, **values)


# ---------------------------------------------------------------- schema
def test_an_empty_database_gets_the_schema_and_matches_the_code(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = rec.make_engine(database_url)
    assert rec.schema_state(engine) == ("empty", None)
    assert "run `klinik db upgrade`" in rec.schema_problem(engine)
    with pytest.raises(rec.SchemaOutOfDate, match="klinik db upgrade"):
        rec.open_records(get_settings(database_url=database_url), create=False)
    assert rec.upgrade(engine) == (None, rec.head_revision())
    assert rec.schema_state(engine) == ("current", rec.head_revision())
    assert rec.schema_problem(engine) is None
    # the migrations build exactly the tables serving/records.py declares
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), rec.METADATA)
    assert diffs == []
    assert rec.upgrade(engine) == (rec.head_revision(), rec.head_revision())  # twice is harmless
    engine.dispose()


def test_a_schema_this_code_does_not_know_is_refused_in_one_line(database_url):
    engine = rec.make_engine(database_url)
    rec.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    problem = rec.schema_problem(engine)
    assert "9999" in problem and "\n" not in problem and "password" not in problem
    with pytest.raises(rec.SchemaOutOfDate):
        rec.open_records(get_settings(database_url=database_url))
    engine.dispose()


def test_a_database_of_someone_else_is_not_taken_over(database_url):
    engine = rec.make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
    assert rec.schema_state(engine)[0] == "foreign"
    with pytest.raises(rec.SchemaOutOfDate, match="no klinik schema"):
        rec.open_records(get_settings(database_url=database_url))
    engine.dispose()


# ---------------------------------------------------------------- staff accounts and logins
def test_users_are_added_once_with_a_role_and_an_argon2_hash(records):
    user = records.add_user("  wayan ", "kepala", PASSWORD)
    assert (user.name, user.role, user.active, user.can_audit) == ("wayan", "kepala", True, True)
    assert records.find_user("wayan") == user and records.find_user("nobody") is None
    with records.engine.connect() as conn:
        stored = conn.execute(sa.select(rec.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(rec.RecordsError, match="exists already"):
        records.add_user("wayan", "petugas", PASSWORD)
    with pytest.raises(rec.RecordsError, match="role"):
        records.add_user("made", "admin", PASSWORD)
    with pytest.raises(rec.RecordsError, match="at least 8"):
        records.add_user("made", "petugas", "short")
    with pytest.raises(rec.RecordsError, match="user name"):
        records.add_user("", "petugas", PASSWORD)
    assert [u.name for u in records.list_users()] == ["wayan"]


def test_login_pauses_after_repeated_failures_and_logs_no_password(records, officer):
    now = dt.datetime(2025, 3, 14, 8, 0, tzinfo=dt.UTC)
    assert records.login(officer, PASSWORD, now).outcome == "ok"
    assert records.login("nobody", PASSWORD, now).outcome == "wrong"  # unknown names answer the same
    assert [records.login(officer, "wrong-guess-1", now).outcome for _ in range(2)] == ["wrong", "wrong"]
    paused = records.login(officer, "wrong-guess-2", now)
    assert paused.outcome == "paused" and paused.paused_until == now + dt.timedelta(seconds=60)
    # while paused even the right password is refused; after the pause it works and the count starts over
    assert records.login(officer, PASSWORD, now + dt.timedelta(seconds=59)).outcome == "paused"
    ok = records.login(officer, PASSWORD, now + dt.timedelta(seconds=61))
    assert ok.outcome == "ok" and ok.user.name == officer and ok.user.failed_logins == 0
    kinds = [e.kind for e in reversed(records.events())]
    assert kinds == [
        "user_added",
        "login",
        "login_failed",
        "login_failed",
        "login_failed",
        "login_paused",
        "login_refused",
        "login",
    ]
    assert not any("wrong-guess" in (e.detail or "") or PASSWORD in (e.detail or "") for e in records.events())
    records.set_active(officer, False)
    assert records.login(officer, PASSWORD).outcome == "inactive"
    assert records.login(officer, "wrong-guess-3").outcome == "wrong"


# ---------------------------------------------------------------- decisions
def test_a_change_is_a_new_entry_and_the_history_keeps_every_one(records, officer):
    first, made = records.record_decision(rec.NewDecision(advice(), "dijadwalkan", None, officer), "api")
    assert made and (first.version, first.decision, first.label) == (1, "DIJADWALKAN", "dijadwalkan")
    again, made = records.record_decision(rec.NewDecision(advice(), "DIJADWALKAN", "  ", officer), "web")
    assert not made and again == first  # the same decision twice is one entry
    second, made = records.record_decision(rec.NewDecision(advice(), "Dijangkau", "kunjungan 3 Maret", officer), "web")
    assert made and (second.version, second.decision, second.note, second.source) == (
        2,
        "DIJANGKAU",
        "kunjungan 3 Maret",
        "web",
    )
    other_year, _ = records.record_decision(rec.NewDecision(advice(year=2023), "dijangkau", None, officer), "import")
    history = records.decisions_for("KOP-000120")
    assert [(d.as_of_year, d.version, d.decision) for d in history] == [
        (2023, 1, "DIJANGKAU"),
        (2024, 1, "DIJADWALKAN"),
        (2024, 2, "DIJANGKAU"),
    ]
    assert [d.id for d in records.decisions_for("KOP-000120", 2024)] == [first.id, second.id]
    assert records.latest_decisions(2024) == {"KOP-000120": second}
    assert records.latest_decisions(2024, ["KOP-000120", "KOP-9"]) == {"KOP-000120": second}
    assert [d.id for d in records.history()] == [other_year.id, second.id, first.id]
    assert [d.id for d in records.history(limit=1, before_id=second.id)] == [first.id]
    # the advice travels with the decision
    assert (second.action, second.p_sick_next, second.clinic, second.model_version, second.manifest_sha256) == (
        "JANGKAU",
        0.49,
        "KEUANGAN",
        "koperasi-risk/3",
        "ab" * 32,
    )
    assert second.recorded_at.tzinfo is not None and second.recorded_at >= first.recorded_at


@pytest.mark.parametrize("action", list(CHOICES))
def test_each_action_takes_only_its_own_list(records, officer, action):
    for c in CHOICES[action]:
        note = "alasan dicatat" if c.needs_note else None
        entry, _ = records.record_decision(rec.NewDecision(advice(action=action), c.label, note, officer), "api")
        assert entry.decision == c.code
    foreign = {c.code for a, cs in CHOICES.items() if a != action for c in cs} - {c.code for c in CHOICES[action]}
    for code in sorted(foreign)[:3]:
        with pytest.raises(DecisionInvalid, match="is not a decision on") as err:
            records.record_decision(rec.NewDecision(advice(action=action), code, "catatan", officer), "api")
        assert err.value.field == "decision"


def test_closure_review_needs_a_note_and_bad_input_records_nothing(records, officer):
    closure = advice(action="PERTIMBANGKAN_PEMBUBARAN", p_sick_next=None, p_recover=0.05)
    for choice in CHOICES["PERTIMBANGKAN_PEMBUBARAN"]:
        with pytest.raises(DecisionInvalid, match="needs a note") as err:
            records.record_decision(rec.NewDecision(closure, choice.label, "   ", officer), "api")
        assert err.value.field == "note"
    good = rec.NewDecision(advice(coop="KOP-1"), "dijangkau", None, officer)
    bad = rec.NewDecision(closure, "bubarkan saja", "x", officer)
    with pytest.raises(DecisionInvalid):
        records.record_decisions([good, bad], "import")
    with pytest.raises(rec.RecordsError, match="no active staff account named 'made'"):
        records.record_decisions([good, rec.NewDecision(advice(coop="KOP-2"), "dijangkau", None, "made")], "import")
    with pytest.raises(rec.RecordsError, match="source"):
        records.record_decisions([good], "email")
    assert records.history() == []  # all or none


def test_the_database_refuses_to_change_or_remove_an_entry(records, officer):
    records.record_decision(rec.NewDecision(advice(), "dijangkau", None, officer), "api")
    for statement in ("UPDATE decisions SET decision = 'TIDAK_PERLU'", "DELETE FROM decisions", "DELETE FROM events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with records.engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert len(records.history()) == 1 and len(records.events()) == 1
    assert not [m for m in dir(records) if any(w in m.lower() for w in ("update", "delete", "remove", "edit"))]


def test_two_sessions_deciding_at_once_lose_nothing(database_url, officer):
    """Two separate connections (two Records on the same database) change the same decision concurrently: every
    entry lands, with versions 1..N and no gap or clash."""
    settings = get_settings(database_url=database_url)
    sessions = [rec.open_records(settings), rec.open_records(settings)]
    per_session, errors = 15, []
    start = threading.Barrier(2)

    def decide(records, who: int) -> None:
        try:
            start.wait()
            for i in range(per_session):
                note = f"sesi {who} ke-{i}"
                records.record_decision(rec.NewDecision(advice(), "tidak perlu", note, officer), "web")
        except Exception as err:  # noqa: BLE001 -- reported below
            errors.append(err)

    threads = [threading.Thread(target=decide, args=(s, i)) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    history = sessions[0].decisions_for("KOP-000120", 2024)
    assert [d.version for d in history] == list(range(1, 2 * per_session + 1))
    assert sorted(d.note for d in history) == sorted(f"sesi {w} ke-{i}" for w in range(2) for i in range(per_session))
    for s in sessions:
        s.close()


def test_the_decisions_in_force_when_the_record_was_read(records, officer):
    assert records.last_id() == 0
    first, _ = records.record_decision(rec.NewDecision(advice(), "dijadwalkan", None, officer), "api")
    mark = records.last_id()
    second, _ = records.record_decision(rec.NewDecision(advice(), "dijangkau", None, officer), "api")
    other, _ = records.record_decision(rec.NewDecision(advice(coop="KOP-2"), "dijangkau", None, officer), "api")
    assert mark == first.id and records.last_id() == other.id
    assert records.latest_decisions(2024, through_id=mark) == {"KOP-000120": first}
    assert records.latest_decisions(2024) == {"KOP-000120": second, "KOP-2": other}


def test_a_nul_in_a_name_an_id_or_a_note_is_refused_on_both_backends(records, officer):
    """PostgreSQL refuses any statement carrying NUL: such a text never reaches the database (a client's mistake
    through the API or the sign-in form, not a 500)."""
    assert records.find_user(officer + "\x00") is None
    assert records.login(officer + "\x00", PASSWORD).outcome == "wrong"
    assert records.decisions_for("KOP-000120\x00") == []
    with pytest.raises(DecisionInvalid, match="NUL"):
        records.record_decision(rec.NewDecision(advice(), "dijangkau", "a\x00b", officer), "api")
    with pytest.raises(rec.RecordsError, match="no active staff account"):
        records.record_decision(rec.NewDecision(advice(), "dijangkau", None, officer + "\x00"), "api")
    assert records.decisions_for("KOP-000120") == []
