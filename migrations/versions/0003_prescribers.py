"""prescribers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pestle.models.base import UtcDateTime

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('prescriber',
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=10), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('npi', sa.String(length=10), nullable=False),
    sa.Column('dea', sa.String(length=9), nullable=True),
    sa.Column('spi', sa.String(length=35), nullable=True),
    sa.Column('driver_license_number', sa.String(length=50), nullable=True),
    sa.Column('driver_license_state', sa.String(length=2), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('credential_npi', sa.String(length=100), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_prescriber_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriber')),
    sa.UniqueConstraint('customer_id', 'npi', name=op.f('uq_prescriber_customer_id_npi'))
    )
    with op.batch_alter_table('prescriber', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescriber_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriber_npi'), ['npi'], unique=False)

    op.create_table('prescriber_address',
    sa.Column('prescriber_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('address_1', sa.String(length=200), nullable=False),
    sa.Column('address_2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('zip_code', sa.String(length=9), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id'], name=op.f('fk_prescriber_address_prescriber_id_prescriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriber_address'))
    )
    with op.batch_alter_table('prescriber_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescriber_address_prescriber_id'), ['prescriber_id'], unique=False)

    op.create_table('prescriber_credential',
    sa.Column('prescriber_id', sa.Uuid(), nullable=False),
    sa.Column('credential_code', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id'], name=op.f('fk_prescriber_credential_prescriber_id_prescriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriber_credential')),
    sa.UniqueConstraint('prescriber_id', 'credential_code', name=op.f('uq_prescriber_credential_prescriber_id_credential_code'))
    )
    op.create_table('prescriber_restriction',
    sa.Column('prescriber_id', sa.Uuid(), nullable=False),
    sa.Column('restriction_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id'], name=op.f('fk_prescriber_restriction_prescriber_id_prescriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriber_restriction')),
    sa.UniqueConstraint('prescriber_id', 'restriction_id', name=op.f('uq_prescriber_restriction_prescriber_id_restriction_id'))
    )
    op.create_table('qualification',
    sa.Column('prescriber_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('license_number', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('expiration_date', sa.Date(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('replaced_at', UtcDateTime(), nullable=True),
    sa.Column('replaced_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id'], name=op.f('fk_qualification_prescriber_id_prescriber'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['qualification.id'], name=op.f('fk_qualification_replaced_by_id_qualification'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualification'))
    )
    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualification_prescriber_id'), ['prescriber_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qualification_prescriber_id_state'), ['prescriber_id', 'state'], unique=True, sqlite_where=sa.text('is_active'), postgresql_where=sa.text('is_active'))



def downgrade() -> None:
    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualification_prescriber_id_state'), sqlite_where=sa.text('is_active'), postgresql_where=sa.text('is_active'))
        batch_op.drop_index(batch_op.f('ix_qualification_prescriber_id'))

    op.drop_table('qualification')
    op.drop_table('prescriber_restriction')
    op.drop_table('prescriber_credential')
    with op.batch_alter_table('prescriber_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriber_address_prescriber_id'))

    op.drop_table('prescriber_address')
    with op.batch_alter_table('prescriber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriber_npi'))
        batch_op.drop_index(batch_op.f('ix_prescriber_customer_id'))

    op.drop_table('prescriber')
