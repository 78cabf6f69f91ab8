"""Alembic migrations of the decision record (serving/records.py); run by ``klinik db upgrade``, no alembic.ini."""
