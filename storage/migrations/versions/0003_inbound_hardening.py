"""Inbound hardening: atomic inbound records, one alert per patient and hour

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

The inbound message ids need no change: they are now written in the transaction that
stores the conversation. The one-alert-per-hour rule gets a row per patient and category,
filled from the alerts already sent so the rule holds across the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_window",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("alerted_at", storage.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("patient_id", "category"),
    )
    # The latest alerted escalation of each patient and category (ids grow with time).
    op.execute(
        """
        INSERT INTO alert_window (patient_id, category, escalation_id, alerted_at)
        SELECT e.patient_id, e.category, e.id, e.alerted_at
        FROM escalation e
        WHERE e.id IN (
            SELECT MAX(id) FROM escalation
            WHERE patient_id IS NOT NULL AND alerted_at IS NOT NULL
            GROUP BY patient_id, category
        )
        """
    )


def downgrade() -> None:
    op.drop_table("alert_window")
