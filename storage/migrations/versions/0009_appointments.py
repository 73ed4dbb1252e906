"""Appointments, treatment series and per-clinic protocols

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(sa.Column("column_map", sa.Text(), nullable=True))
        batch.add_column(sa.Column("days_ahead", sa.Integer(), nullable=True))
    with op.batch_alter_table("treatment") as batch:
        batch.add_column(sa.Column("appointment_id", sa.String(128), nullable=True))
        batch.create_unique_constraint("uq_treatment_appointment", ["patient_id", "appointment_id"])


def downgrade() -> None:
    with op.batch_alter_table("treatment") as batch:
        batch.drop_constraint("uq_treatment_appointment", type_="unique")
        batch.drop_column("appointment_id")
    with op.batch_alter_table("clinic") as batch:
        batch.drop_column("days_ahead")
        batch.drop_column("column_map")
