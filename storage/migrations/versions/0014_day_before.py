"""The optional day-before reminder, per clinic: clinic.day_before_reminder (off)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing clinics keep what they had: no reminder before the treatment.
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(
            sa.Column(
                "day_before_reminder", sa.Boolean(), nullable=False, server_default=sa.text("false")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.drop_column("day_before_reminder")
