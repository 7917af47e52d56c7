"""Barcodes issued for entities, and tasks with their watchers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pestle.models.base import UtcDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('barcode',
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('barcode_value', sa.String(length=120), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('deactivated_at', UtcDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("entity_type IN ('user', 'order', 'patient', 'prescription', 'prescription_product', 'non_prescription_product', 'order_material', 'inventory')", name=op.f('ck_barcode_entity_type')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_barcode_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_barcode_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_barcode')),
    sa.UniqueConstraint('barcode_value', name=op.f('uq_barcode_barcode_value'))
    )
    with op.batch_alter_table('barcode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_barcode_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_barcode_entity_type_entity_id'), ['entity_type', 'entity_id'], unique=False)

    op.create_table('task',
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('category_code', sa.String(length=8), nullable=False),
    sa.Column('status_code', sa.String(length=16), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('prescription_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('completed_at', UtcDateTime(), nullable=True),
    sa.Column('source_key', sa.String(length=120), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("category_code IN ('T01', 'T02', 'T03', 'T04', 'T05', 'T06')", name=op.f('ck_task_category_code')),
    sa.CheckConstraint("status_code IN ('NEW', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED')", name=op.f('ck_task_status_code')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_task_assignee_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_task_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_task_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_task_order_id_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_task_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescription.id'], name=op.f('fk_task_prescription_id_prescription'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task'))
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_assignee_id_status_code'), ['assignee_id', 'status_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_customer_id_status_code'), ['customer_id', 'status_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_prescription_id'), ['prescription_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_source_key'), ['source_key'], unique=False)

    op.create_table('task_watcher',
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_task_watcher_task_id_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_task_watcher_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'user_id', name=op.f('pk_task_watcher'))
    )


def downgrade() -> None:
    op.drop_table('task_watcher')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_source_key'))
        batch_op.drop_index(batch_op.f('ix_task_prescription_id'))
        batch_op.drop_index(batch_op.f('ix_task_patient_id'))
        batch_op.drop_index(batch_op.f('ix_task_order_id'))
        batch_op.drop_index(batch_op.f('ix_task_customer_id_status_code'))
        batch_op.drop_index(batch_op.f('ix_task_assignee_id_status_code'))

    op.drop_table('task')
    with op.batch_alter_table('barcode', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_barcode_entity_type_entity_id'))
        batch_op.drop_index(batch_op.f('ix_barcode_customer_id'))

    op.drop_table('barcode')
