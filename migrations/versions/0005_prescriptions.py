"""prescriptions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pestle.models.base import UtcDateTime

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('electronic_prescription',
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('raw_document', sa.Text(), nullable=False),
    sa.Column('reference_number', sa.String(length=100), nullable=True),
    sa.Column('received_at', UtcDateTime(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('prescriber_id', sa.Uuid(), nullable=True),
    sa.Column('patient_block', sa.JSON(), nullable=True),
    sa.Column('order_ref_id', sa.String(length=100), nullable=True),
    sa.Column('order_number', sa.String(length=30), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_electronic_prescription_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_electronic_prescription_patient_id_patient'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id'], name=op.f('fk_electronic_prescription_prescriber_id_prescriber'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_electronic_prescription'))
    )
    with op.batch_alter_table('electronic_prescription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_electronic_prescription_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_electronic_prescription_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_electronic_prescription_prescriber_id'), ['prescriber_id'], unique=False)

    op.create_table('prescription',
    sa.Column('electronic_prescription_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('prescriber_id', sa.Uuid(), nullable=True),
    sa.Column('prescription_product_id', sa.Uuid(), nullable=True),
    sa.Column('drug_name', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('strength', sa.String(length=100), nullable=True),
    sa.Column('product_code', sa.String(length=100), nullable=True),
    sa.Column('product_code_type', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('units', sa.String(length=16), nullable=False),
    sa.Column('days_supply', sa.Integer(), nullable=True),
    sa.Column('refills', sa.Integer(), nullable=False),
    sa.Column('sig', sa.Text(), nullable=False),
    sa.Column('directions', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('substitution_allowed', sa.Boolean(), nullable=False),
    sa.Column('serial_number', sa.String(length=35), nullable=True),
    sa.Column('prescriber_order_number', sa.String(length=100), nullable=True),
    sa.Column('dea_schedule', sa.String(length=4), nullable=True),
    sa.Column('written_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fills_used', sa.Integer(), nullable=False),
    sa.Column('needs_clarification', sa.Boolean(), nullable=False),
    sa.Column('clarification_reason', sa.Text(), nullable=True),
    sa.Column('cancelled_at', UtcDateTime(), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('new', 'active', 'on_hold', 'expired', 'exhausted', 'cancelled')", name=op.f('ck_prescription_status')),
    sa.CheckConstraint('fills_used >= 0', name=op.f('ck_prescription_fills_used_not_negative')),
    sa.CheckConstraint('refills >= 0', name=op.f('ck_prescription_refills_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_prescription_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['electronic_prescription_id'], ['electronic_prescription.id'], name=op.f('fk_prescription_electronic_prescription_id_electronic_prescription'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_prescription_patient_id_patient'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id'], name=op.f('fk_prescription_prescriber_id_prescriber'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prescription_product_id'], ['product.id'], name=op.f('fk_prescription_prescription_product_id_product'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription'))
    )
    with op.batch_alter_table('prescription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescription_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_customer_id_prescriber_order_number'), ['customer_id', 'prescriber_order_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_electronic_prescription_id'), ['electronic_prescription_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_prescriber_id'), ['prescriber_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescription_prescription_product_id'), ['prescription_product_id'], unique=False)

    op.create_table('prescription_fill',
    sa.Column('prescription_id', sa.Uuid(), nullable=False),
    sa.Column('order_line_ref', sa.String(length=100), nullable=True),
    sa.Column('filled_at', UtcDateTime(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescription.id'], name=op.f('fk_prescription_fill_prescription_id_prescription'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_prescription_fill_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_fill'))
    )
    with op.batch_alter_table('prescription_fill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescription_fill_prescription_id'), ['prescription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prescription_fill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_fill_prescription_id'))

    op.drop_table('prescription_fill')
    with op.batch_alter_table('prescription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_prescription_product_id'))
        batch_op.drop_index(batch_op.f('ix_prescription_prescriber_id'))
        batch_op.drop_index(batch_op.f('ix_prescription_patient_id'))
        batch_op.drop_index(batch_op.f('ix_prescription_electronic_prescription_id'))
        batch_op.drop_index(batch_op.f('ix_prescription_customer_id_prescriber_order_number'))
        batch_op.drop_index(batch_op.f('ix_prescription_customer_id'))

    op.drop_table('prescription')
    with op.batch_alter_table('electronic_prescription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_electronic_prescription_prescriber_id'))
        batch_op.drop_index(batch_op.f('ix_electronic_prescription_patient_id'))
        batch_op.drop_index(batch_op.f('ix_electronic_prescription_customer_id'))

    op.drop_table('electronic_prescription')
