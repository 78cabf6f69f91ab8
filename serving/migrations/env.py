"""Alembic's environment for the decision record: run from ``klinik.serving.records.upgrade``, which hands over an
open connection (inside its transaction) in ``config.attributes["connection"]``.

A new migration: change the tables in serving/records.py, add a file to versions/ (next number, ``down_revision``
the newest one), and let tests/code/test_records_schema.py confirm the migrations give the tables the code
declares, on SQLite and PostgreSQL.
"""

from alembic import context

from klinik.serving.records import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the decision record's migrations run through `klinik db upgrade`, with a connection")

# render_as_batch: SQLite alters a table by copying it, which Alembic's batch mode does for us
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
