"""Telegram conversation state kept in the database

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_conversation",
        sa.Column("handler", sa.String(64), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_telegram_conversation_updated_at", "telegram_conversation", ["updated_at"])
    op.create_table(
        "telegram_draft",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_telegram_draft_updated_at", "telegram_draft", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_telegram_draft_updated_at", table_name="telegram_draft")
    op.drop_table("telegram_draft")
    op.drop_index("ix_telegram_conversation_updated_at", table_name="telegram_conversation")
    op.drop_table("telegram_conversation")
