"""Partial indexes for reminder leases and provider ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = {
    "ix_reminder_lease": (["status", "lease_until"], "lease_until IS NOT NULL"),
    "ix_reminder_provider_id": (["provider_message_id"], "provider_message_id IS NOT NULL"),
}


def upgrade() -> None:
    for name, (columns, condition) in PARTIAL.items():
        op.drop_index(name, table_name="reminder")
        op.create_index(
            name,
            "reminder",
            columns,
            sqlite_where=sa.text(condition),
            postgresql_where=sa.text(condition),
        )


def downgrade() -> None:
    for name, (columns, _) in PARTIAL.items():
        op.drop_index(name, table_name="reminder")
        op.create_index(name, "reminder", columns)
