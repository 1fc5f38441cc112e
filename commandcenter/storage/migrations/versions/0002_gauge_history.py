"""Gauge history: per-minute statistics of every gauge, full-rate readings of incidents and drills.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gauge_minutes",
        sa.Column("gauge_id", sa.String(64), nullable=False),
        # Start of the minute (UTC); one row per gauge and minute.
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=False),
        sa.Column("avg_value", sa.Float(), nullable=False),
        sa.Column("max_value", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("gauge_id", "minute", name="pk_gauge_minutes"),
        sa.CheckConstraint("samples > 0", name="ck_gauge_minutes_samples_positive"),
    )
    # Pruning deletes by time across all gauges.
    op.create_index("ix_gauge_minutes_minute", "gauge_minutes", ["minute"])
    op.create_table(
        "gauge_readings",
        # On SQLite an INTEGER PRIMARY KEY is the rowid itself.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("gauge_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        # NULL: the gauge sent something that is not a finite number.
        sa.Column("value", sa.Float(), nullable=True),
    )
    op.create_index("ix_gauge_readings_gauge_ts", "gauge_readings", ["gauge_id", "ts"])
    op.create_index("ix_gauge_readings_ts", "gauge_readings", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_gauge_readings_ts", table_name="gauge_readings")
    op.drop_index("ix_gauge_readings_gauge_ts", table_name="gauge_readings")
    op.drop_table("gauge_readings")
    op.drop_index("ix_gauge_minutes_minute", table_name="gauge_minutes")
    op.drop_table("gauge_minutes")
