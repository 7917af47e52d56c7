"""job runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pestle.models.base import UtcDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('last_started_at', UtcDateTime(), nullable=True),
    sa.Column('last_finished_at', UtcDateTime(), nullable=True),
    sa.Column('last_result', sa.Text(), nullable=True),
    sa.Column('last_succeeded', sa.Boolean(), nullable=True),
    sa.Column('retry_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_run'))
    )


def downgrade() -> None:
    op.drop_table('job_run')
