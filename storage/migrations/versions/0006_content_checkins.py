"""Symptom check-in answers; numbers that have had an SMS

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

`sms_first_contact` is filled from the SMS reminders already sent, so a number that had
texts before the upgrade is not told how to opt out a second time as if it were new.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.sms_numbers import number_hash

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["treatment_id"], ["treatment.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.ForeignKeyConstraint(["reminder_id"], ["reminder.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_checkin_answer_treatment_id"), "checkin_answer", ["treatment_id"], unique=False
    )
    op.create_index(
        op.f("ix_checkin_answer_patient_id"), "checkin_answer", ["patient_id"], unique=False
    )
    table = op.create_table(
        "sms_first_contact",
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("first_sent_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number_hash"),
    )
    # The hash is computed here, not in SQL: SQLite has no SHA-256.
    rows = op.get_bind().execute(
        sa.text(
            "SELECT p.phone, MIN(r.sent_at) FROM reminder r JOIN patient p ON p.id = r.patient_id"
            " WHERE r.channel = 'sms' AND r.status = 'sent' AND p.phone IS NOT NULL"
            " GROUP BY p.phone"
        )
    )
    first: dict[str, datetime] = {}
    for phone, sent_at in rows:
        if sent_at is not None:
            first.setdefault(number_hash(phone), _utc(sent_at))
    if first:
        op.bulk_insert(
            table,
            [{"number_hash": key, "first_sent_at": at} for key, at in first.items()],
        )


def _utc(value: str | datetime) -> datetime:
    """A raw UTC column value: text on SQLite, a naive datetime on PostgreSQL."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def downgrade() -> None:
    op.drop_table("sms_first_contact")
    op.drop_index(op.f("ix_checkin_answer_patient_id"), table_name="checkin_answer")
    op.drop_index(op.f("ix_checkin_answer_treatment_id"), table_name="checkin_answer")
    op.drop_table("checkin_answer")
