"""Patient search: the clinic's patients newest first, and by the start of a first name

The dashboard's patient list (storage/patient_search.py) reads one clinic's patients a
page at a time, newest first (by id) or, for a name search, in order of first names. Both
orders come straight from an index, so a page reads its 51 rows and no more, on page 1 as
on page 2,000, and a name that one patient in 100,000 has is found without a scan.

The name is indexed lower-cased. PostgreSQL compares it in the "C" collation (code point
order) so that a range [start, start + 1) holds exactly the names with that start, whatever
the database's own collation.

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
    if op.get_bind().dialect.name == "postgresql":
        key = 'lower(first_name) COLLATE "C"'
    else:
        key = "lower(first_name)"
    op.execute(f"CREATE INDEX ix_patient_clinic_name ON patient (clinic_id, ({key}), id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_patient_clinic_name")
    op.drop_index("ix_patient_clinic_newest", table_name="patient")
