"""The event log: one append-only, hash-chained table.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        # On SQLite an INTEGER PRIMARY KEY is the rowid itself (compact, fastest look-up by seq).
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Text(), nullable=True),
        sa.Column("drill_id", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("seq > 0", name="ck_events_seq_positive"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_type_seq", "events", ["type", "seq"])
    op.create_index("ix_events_ts", "events", ["ts"])
    op.create_index("ix_events_incident_seq", "events", ["incident_id", "seq"])
    op.create_index("ix_events_drill_seq", "events", ["drill_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_drill_seq", table_name="events")
    op.drop_index("ix_events_incident_seq", table_name="events")
    op.drop_index("ix_events_ts", table_name="events")
    op.drop_index("ix_events_type_seq", table_name="events")
    op.drop_table("events")
