"""Persistence: the durable event log and read models (SQLAlchemy 2.0, Alembic migrations)."""
