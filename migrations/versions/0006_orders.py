"""orders

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pestle.models.base import UtcDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('order',
    sa.Column('order_number', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('status_code', sa.String(length=3), nullable=False),
    sa.Column('status_changed_at', UtcDateTime(), nullable=False),
    sa.Column('address_id', sa.Uuid(), nullable=False),
    sa.Column('address_1', sa.String(length=200), nullable=False),
    sa.Column('address_2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('zip_code', sa.String(length=9), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('shipping_carrier', sa.String(length=16), nullable=True),
    sa.Column('shipping_service_level', sa.String(length=40), nullable=True),
    sa.Column('custom_shipping', sa.JSON(), nullable=True),
    sa.Column('electronic_prescription_ids', sa.JSON(), nullable=False),
    sa.Column('priority_requested', sa.Boolean(), nullable=False),
    sa.Column('cancellation_requested', sa.Boolean(), nullable=False),
    sa.Column('cancellation_comments', sa.Text(), nullable=True),
    sa.Column('cancellation_requested_at', UtcDateTime(), nullable=True),
    sa.Column('is_replacement', sa.Boolean(), nullable=False),
    sa.Column('original_order_id', sa.Uuid(), nullable=True),
    sa.Column('replacement_reason', sa.Text(), nullable=True),
    sa.Column('replacement_request_status', sa.String(length=16), nullable=True),
    sa.Column('stuck_reason', sa.String(length=32), nullable=True),
    sa.Column('stuck_detail', sa.Text(), nullable=True),
    sa.Column('stuck_since', UtcDateTime(), nullable=True),
    sa.Column('stuck_resolves_at', UtcDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("status_code IN ('N01', 'H01', 'P01', 'P02', 'P03', 'P04', 'S01', 'S02', 'S03', 'X01')", name=op.f('ck_order_status_code')),
    sa.CheckConstraint("stuck_reason IS NULL OR stuck_reason IN ('too_early_to_fill', 'missing_prescription', 'no_refills_or_expired', 'needs_clarification')", name=op.f('ck_order_stuck_reason')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_order_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_order_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['original_order_id'], ['order.id'], name=op.f('fk_order_original_order_id_order'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_order_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order')),
    sa.UniqueConstraint('customer_id', 'external_id', name=op.f('uq_order_customer_id_external_id')),
    sa.UniqueConstraint('order_number', name=op.f('uq_order_order_number'))
    )
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_customer_id_status_code'), ['customer_id', 'status_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_patient_id_status_code'), ['patient_id', 'status_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_status_code_stuck_reason'), ['status_code', 'stuck_reason'], unique=False)

    op.create_table('order_status_change',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('status_code', sa.String(length=3), nullable=False),
    sa.Column('previous_status_code', sa.String(length=3), nullable=True),
    sa.Column('entered_at', UtcDateTime(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('conflicts', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_order_status_change_order_id_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_order_status_change_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_status_change'))
    )
    with op.batch_alter_table('order_status_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_status_change_order_id_entered_at'), ['order_id', 'entered_at'], unique=False)

    op.create_table('shipment',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('service_level', sa.String(length=40), nullable=False),
    sa.Column('tracking_number', sa.String(length=64), nullable=False),
    sa.Column('tracking_url', sa.String(length=2000), nullable=True),
    sa.Column('estimated_delivery_date', UtcDateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('shipped_at', UtcDateTime(), nullable=False),
    sa.Column('delivered_at', UtcDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('shipped', 'delivered')", name=op.f('ck_shipment_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_shipment_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_shipment_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_shipment_order_id_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment'))
    )
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipment_order_id'), ['order_id'], unique=False)

    op.create_table('order_line',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('prescription_id', sa.Uuid(), nullable=True),
    sa.Column('prescription_fill_id', sa.Uuid(), nullable=True),
    sa.Column('compounded_at', UtcDateTime(), nullable=True),
    sa.Column('beyond_use_date', UtcDateTime(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_order_line_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_order_line_order_id_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prescription_fill_id'], ['prescription_fill.id'], name=op.f('fk_order_line_prescription_fill_id_prescription_fill'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescription.id'], name=op.f('fk_order_line_prescription_id_prescription'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_order_line_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line'))
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_order_id_id'), ['order_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_prescription_id'), ['prescription_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_product_id'), ['product_id'], unique=False)

    op.create_table('order_line_lot',
    sa.Column('order_line_id', sa.Uuid(), nullable=False),
    sa.Column('lot_id', sa.Uuid(), nullable=False),
    sa.Column('product_units', sa.Integer(), nullable=False),
    sa.Column('lot_units', sa.Integer(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['inventory_lot.id'], name=op.f('fk_order_line_lot_lot_id_inventory_lot')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_order_line_lot_order_line_id_order_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line_lot'))
    )
    with op.batch_alter_table('order_line_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_lot_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_lot_order_line_id'), ['order_line_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_line_lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_lot_order_line_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_lot_lot_id'))

    op.drop_table('order_line_lot')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_product_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_prescription_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_order_id_id'))

    op.drop_table('order_line')
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_order_id'))
        batch_op.drop_index(batch_op.f('ix_shipment_customer_id'))

    op.drop_table('shipment')
    with op.batch_alter_table('order_status_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_status_change_order_id_entered_at'))

    op.drop_table('order_status_change')
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_status_code_stuck_reason'))
        batch_op.drop_index(batch_op.f('ix_order_patient_id_status_code'))
        batch_op.drop_index(batch_op.f('ix_order_customer_id_status_code'))
        batch_op.drop_index(batch_op.f('ix_order_customer_id'))

    op.drop_table('order')
