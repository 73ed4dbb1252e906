"""The booking service of a treatment: treatment.service (null when the booking named none)

Kept as the clinic's export wrote it, so a service later mapped to a protocol of its own can
find the treatments planned for it before the mapping existed (`clinic protocol --service
NAME --replan`), and staff see which service a session was.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("treatment") as batch:
        batch.add_column(sa.Column("service", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment") as batch:
        batch.drop_column("service")
