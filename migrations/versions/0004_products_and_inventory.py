"""products and inventory

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pestle.models.base import UtcDateTime

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('formula',
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('allergen_snomeds', sa.JSON(), nullable=False),
    sa.Column('allergen_scdgs', sa.JSON(), nullable=False),
    sa.Column('medication_scdgs', sa.JSON(), nullable=False),
    sa.Column('bud_category', sa.String(length=32), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("bud_category IN ('non_preserved_aqueous', 'preserved_aqueous', 'non_aqueous', 'solid')", name=op.f('ck_formula_bud_category')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_formula_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_formula')),
    sa.UniqueConstraint('number', name=op.f('uq_formula_number'))
    )
    with op.batch_alter_table('formula', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_formula_customer_id'), ['customer_id'], unique=False)

    op.create_table('inventory_lot',
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('batch_number', sa.String(length=100), nullable=True),
    sa.Column('manufacturer', sa.String(length=200), nullable=True),
    sa.Column('mpn', sa.String(length=100), nullable=True),
    sa.Column('upc', sa.String(length=32), nullable=True),
    sa.Column('cost_per_unit', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('initial_quantity', sa.Integer(), nullable=False),
    sa.Column('current_quantity', sa.Integer(), nullable=False),
    sa.Column('unit_type', sa.String(length=16), nullable=False),
    sa.Column('received_date', UtcDateTime(), nullable=False),
    sa.Column('expiration_date', UtcDateTime(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('ndc_labeler', sa.String(length=5), nullable=True),
    sa.Column('ndc_product', sa.String(length=4), nullable=True),
    sa.Column('ndc_package', sa.String(length=2), nullable=True),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("type IN ('prescription', 'non_prescription', 'order_material')", name=op.f('ck_inventory_lot_type')),
    sa.CheckConstraint('current_quantity >= 0', name=op.f('ck_inventory_lot_current_quantity_not_negative')),
    sa.CheckConstraint('initial_quantity >= 0', name=op.f('ck_inventory_lot_initial_quantity_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_inventory_lot_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_lot'))
    )
    with op.batch_alter_table('inventory_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_lot_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inventory_lot_expiration_date'), ['expiration_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_inventory_lot_gtin'), ['gtin'], unique=False)

    op.create_table('formula_ingredient',
    sa.Column('formula_id', sa.Uuid(), nullable=False),
    sa.Column('material', sa.String(length=200), nullable=False),
    sa.Column('quantity_per_unit', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['formula_id'], ['formula.id'], name=op.f('fk_formula_ingredient_formula_id_formula'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_formula_ingredient'))
    )
    with op.batch_alter_table('formula_ingredient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_formula_ingredient_formula_id'), ['formula_id'], unique=False)

    op.create_table('lot_adjustment',
    sa.Column('lot_id', sa.Uuid(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('resulting_quantity', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['inventory_lot.id'], name=op.f('fk_lot_adjustment_lot_id_inventory_lot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_lot_adjustment_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_adjustment'))
    )
    with op.batch_alter_table('lot_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_adjustment_lot_id_id'), ['lot_id', 'id'], unique=False)

    op.create_table('product',
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('product_code', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('form', sa.String(length=100), nullable=True),
    sa.Column('formula_id', sa.Uuid(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_controlled_substance', sa.Boolean(), nullable=False),
    sa.Column('dea_schedule', sa.String(length=4), nullable=True),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('strength', sa.String(length=100), nullable=True),
    sa.Column('label_orientation', sa.String(length=16), nullable=True),
    sa.Column('unit_count', sa.Integer(), nullable=True),
    sa.Column('unit_type', sa.String(length=16), nullable=True),
    sa.Column('reorder_threshold', sa.Integer(), nullable=False),
    sa.Column('is_global', sa.Boolean(), nullable=False),
    sa.Column('is_low_stock', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.CheckConstraint("dea_schedule IS NULL OR dea_schedule IN ('CII', 'CIII', 'CIV', 'CV')", name=op.f('ck_product_dea_schedule')),
    sa.CheckConstraint("kind IN ('prescription', 'non_prescription', 'order_material')", name=op.f('ck_product_kind')),
    sa.CheckConstraint("label_orientation IS NULL OR label_orientation IN ('portrait', 'landscape')", name=op.f('ck_product_label_orientation')),
    sa.CheckConstraint('customer_id IS NOT NULL OR is_global', name=op.f('ck_product_owned_unless_global')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_product_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['formula_id'], ['formula.id'], name=op.f('fk_product_formula_id_formula'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_customer_id_kind_product_code'), ['customer_id', 'kind', 'product_code'], unique=True)
        batch_op.create_index(batch_op.f('ix_product_customer_id_sku'), ['customer_id', 'sku'], unique=True)

    op.create_table('lot_association',
    sa.Column('lot_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('units_per_product', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('units_per_product > 0', name=op.f('ck_lot_association_units_per_product_positive')),
    sa.ForeignKeyConstraint(['lot_id'], ['inventory_lot.id'], name=op.f('fk_lot_association_lot_id_inventory_lot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_lot_association_product_id_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_association'))
    )
    with op.batch_alter_table('lot_association', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_association_lot_id_product_id'), ['lot_id', 'product_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_lot_association_product_id'), ['product_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lot_association', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_association_product_id'))
        batch_op.drop_index(batch_op.f('ix_lot_association_lot_id_product_id'))

    op.drop_table('lot_association')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_customer_id_sku'))
        batch_op.drop_index(batch_op.f('ix_product_customer_id_kind_product_code'))

    op.drop_table('product')
    with op.batch_alter_table('lot_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_adjustment_lot_id_id'))

    op.drop_table('lot_adjustment')
    with op.batch_alter_table('formula_ingredient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_formula_ingredient_formula_id'))

    op.drop_table('formula_ingredient')
    with op.batch_alter_table('inventory_lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_lot_gtin'))
        batch_op.drop_index(batch_op.f('ix_inventory_lot_expiration_date'))
        batch_op.drop_index(batch_op.f('ix_inventory_lot_customer_id'))

    op.drop_table('inventory_lot')
    with op.batch_alter_table('formula', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_formula_customer_id'))

    op.drop_table('formula')
