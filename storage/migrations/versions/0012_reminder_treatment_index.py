"""A plain index on reminder.treatment_id

Migration 0010 made the unique (treatment_id, milestone) index partial (staff replies are
left out), so a query by treatment alone (`WHERE treatment_id = ?`: Planner.reschedule_in,
cancelling a plan, Telegram's /plan) could no longer use it and read the whole table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_reminder_treatment"


def upgrade() -> None:
    op.create_index(INDEX, "reminder", ["treatment_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="reminder")
