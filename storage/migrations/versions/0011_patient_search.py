"""Patient search: the clinic's patients newest first

The dashboard's patient list reads one clinic's patients by id, newest first, a page at a
time (storage/patient_search.py). Without this index a page sorts all of the clinic's
patients; with it a page reads its 51 rows in order, on page 1 as on page 2,000.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_patient_clinic_newest", "patient", ["clinic_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_patient_clinic_newest", table_name="patient")
