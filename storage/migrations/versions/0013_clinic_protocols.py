"""Per-clinic protocols, versioned

Each upload of a clinic's protocol (or of a service's protocol) is a new row, and so is a
reset back to the built-in (a row without source); rows are never changed or removed, so a
treatment that names one ("clinic:<id>") renders with the same texts forever.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_APPEND_ONLY = [
    """
    CREATE FUNCTION clinic_protocol_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'clinic_protocol is append-only';
    END
    $$
    """,
    """
    CREATE TRIGGER clinic_protocol_append_only BEFORE UPDATE OR DELETE ON clinic_protocol
    FOR EACH ROW EXECUTE FUNCTION clinic_protocol_append_only()
    """,
]
SQLITE_APPEND_ONLY = [
    f"""
    CREATE TRIGGER clinic_protocol_no_{verb.lower()} BEFORE {verb} ON clinic_protocol
    BEGIN
        SELECT RAISE(ABORT, 'clinic_protocol is append-only');
    END
    """
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "clinic_protocol",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinic_id", "version", name="uq_clinic_protocol_version"),
    )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_APPEND_ONLY if dialect == "postgresql" else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("clinic_protocol")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION clinic_protocol_append_only()")
