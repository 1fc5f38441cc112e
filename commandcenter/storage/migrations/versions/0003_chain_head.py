"""The chain head: the seq and hash of the last appended event, written with every batch.

A hash chain alone cannot show that events were cut off its end; the head, updated in the same
transaction as every append, can.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_chain_head_one_row"),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")).first()
    seq, digest = (0, GENESIS_HASH) if last is None else (last.seq, last.hash)
    bind.execute(sa.text("INSERT INTO chain_head (id, seq, hash) VALUES (1, :seq, :hash)"),
                 {"seq": seq, "hash": digest})


def downgrade() -> None:
    op.drop_table("chain_head")
