"""Staff replies through the reminder outbox

A staff member's reply to a patient is a reminder row (milestone "staff_reply") carrying
its own text, who wrote it and the escalation it answers, so the dispatcher sends it like
any reminder: rate-limited, retried, recorded, obeying opt-out. A treatment has one
reminder per milestone but may have any number of staff replies, so the unique constraint
on (treatment_id, milestone) becomes a unique index that leaves staff replies out, and
staff replies get a small index of their own (by escalation).
Escalations record who resolved them and an optional note; open ones get an index for
the inbox.

On SQLite a constraint cannot be dropped in place: the reminder table is rebuilt (copied
once). env.py turns SQLite's foreign key enforcement off while it migrates and checks
every foreign key before committing, as SQLite's own procedure for this asks.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE_NAME = "uq_reminder_treatment_milestone"
NOT_STAFF_REPLY = "milestone <> 'staff_reply'"
STAFF_REPLY = "milestone = 'staff_reply'"
OPEN = "resolved_at IS NULL"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("reminder", recreate="always" if _sqlite() else "auto") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("staff_email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("escalation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_reminder_escalation_id", "escalation", ["escalation_id"], ["id"]
        )
        batch.drop_constraint(UNIQUE_NAME, type_="unique")
    op.create_index(
        UNIQUE_NAME,
        "reminder",
        ["treatment_id", "milestone"],
        unique=True,
        sqlite_where=sa.text(NOT_STAFF_REPLY),
        postgresql_where=sa.text(NOT_STAFF_REPLY),
    )
    op.create_index(
        "ix_reminder_staff_reply",
        "reminder",
        ["escalation_id"],
        sqlite_where=sa.text(STAFF_REPLY),
        postgresql_where=sa.text(STAFF_REPLY),
    )
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("resolved_by_staff_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))
    op.create_index(
        "ix_escalation_open",
        "escalation",
        ["clinic_id", "created_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_open", table_name="escalation")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_column("resolution_note")
        batch.drop_column("resolved_by")
        batch.drop_column("resolved_by_staff_id")
    # Staff replies have no place in the old schema (one row per treatment and milestone).
    op.execute("DELETE FROM reminder WHERE milestone = 'staff_reply'")
    op.drop_index("ix_reminder_staff_reply", table_name="reminder")
    op.drop_index(UNIQUE_NAME, table_name="reminder")
    with op.batch_alter_table("reminder", recreate="always" if _sqlite() else "auto") as batch:
        batch.create_unique_constraint(UNIQUE_NAME, ["treatment_id", "milestone"])
        batch.drop_constraint("fk_reminder_escalation_id", type_="foreignkey")
        batch.drop_column("escalation_id")
        batch.drop_column("staff_email")
        batch.drop_column("staff_id")
        batch.drop_column("body")
