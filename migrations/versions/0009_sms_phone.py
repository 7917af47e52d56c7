"""sms phone

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_subscription_phone_for_sms'), "type = 'sms' OR phone IS NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_subscription_phone_for_sms'), type_='check')
        batch_op.drop_column('phone')

