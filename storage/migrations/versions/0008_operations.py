"""Operations: retention and metrics support

When a reminder was settled (sent, failed, expired, in doubt), for `aftercare stats`; indexes
for the last day's conversations and for the retention purge's conversations not yet purged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTLED = "settled_at IS NOT NULL"
UNPURGED = "inbound_text IS NOT NULL OR reply_text IS NOT NULL"


def upgrade() -> None:
    op.add_column("reminder", sa.Column("settled_at", sa.DateTime(), nullable=True))
    # Partial: planning inserts reminders unsettled, so bulk enrollment pays nothing for it.
    op.create_index(
        "ix_reminder_settled",
        "reminder",
        ["settled_at"],
        sqlite_where=sa.text(SETTLED),
        postgresql_where=sa.text(SETTLED),
    )
    op.create_index("ix_conversation_created", "conversation", ["created_at"])
    op.create_index(
        "ix_conversation_unpurged",
        "conversation",
        ["created_at"],
        sqlite_where=sa.text(UNPURGED),
        postgresql_where=sa.text(UNPURGED),
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_unpurged", table_name="conversation")
    op.drop_index("ix_conversation_created", table_name="conversation")
    op.drop_index("ix_reminder_settled", table_name="reminder")
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("settled_at")
