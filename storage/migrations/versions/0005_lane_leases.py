"""Lane leases: one engine at a time sends on a sender

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lane_lease",
        sa.Column("lane", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("lease_until", storage.models.UTCDateTime(), nullable=False),
        sa.Column("next_send_at", storage.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("lane"),
    )


def downgrade() -> None:
    op.drop_table("lane_lease")
