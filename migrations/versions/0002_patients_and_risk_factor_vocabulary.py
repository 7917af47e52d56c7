"""patients and risk factor vocabulary

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pestle.models.base import UtcDateTime

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('risk_factor_concept',
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('rxcui', sa.String(length=16), nullable=True),
    sa.Column('tty', sa.String(length=16), nullable=True),
    sa.Column('allergen_class', sa.String(length=100), nullable=True),
    sa.Column('brand_name', sa.String(length=500), nullable=True),
    sa.Column('ingredient_name', sa.String(length=500), nullable=True),
    sa.Column('ingredient_rxcui', sa.String(length=16), nullable=True),
    sa.Column('product_rxcui', sa.String(length=16), nullable=True),
    sa.Column('clinical_product_rxcui', sa.String(length=16), nullable=True),
    sa.Column('scdf_name', sa.String(length=500), nullable=True),
    sa.Column('scdf_rxcui', sa.String(length=16), nullable=True),
    sa.Column('scdg_name', sa.String(length=500), nullable=True),
    sa.Column('scdg_rxcui', sa.String(length=16), nullable=True),
    sa.Column('normalization_key', sa.String(length=100), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_factor_concept'))
    )
    with op.batch_alter_table('risk_factor_concept', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_factor_concept_rxcui'), ['rxcui'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_factor_concept_type_source_name'), ['type', 'source', 'name'], unique=False)

    op.create_table('patient',
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=10), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('driver_license_number', sa.String(length=50), nullable=True),
    sa.Column('driver_license_state', sa.String(length=2), nullable=True),
    sa.Column('ssn_ciphertext', sa.Text(), nullable=True),
    sa.Column('ssn_last4', sa.String(length=4), nullable=True),
    sa.Column('primary_language', sa.String(length=8), nullable=True),
    sa.Column('guardian_name', sa.String(length=200), nullable=True),
    sa.Column('guardian_phone', sa.String(length=10), nullable=True),
    sa.Column('guardian_email', sa.String(length=320), nullable=True),
    sa.Column('guardian_relationship', sa.String(length=32), nullable=True),
    sa.Column('height_inches', sa.Double(), nullable=True),
    sa.Column('weight_pounds', sa.Double(), nullable=True),
    sa.Column('is_smoker', sa.Boolean(), nullable=False),
    sa.Column('is_diabetic', sa.Boolean(), nullable=False),
    sa.Column('is_pregnant', sa.Boolean(), nullable=False),
    sa.Column('receive_sms', sa.Boolean(), nullable=False),
    sa.Column('receive_email', sa.Boolean(), nullable=False),
    sa.Column('address_1', sa.String(length=200), nullable=True),
    sa.Column('address_2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('zip_code', sa.String(length=9), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_patient_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('customer_id', 'external_id', name=op.f('uq_patient_customer_id_external_id'))
    )
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_customer_id_date_of_birth'), ['customer_id', 'date_of_birth'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_customer_id_last_name'), ['customer_id', 'last_name'], unique=False)

    op.create_table('risk_factor_concept_name',
    sa.Column('concept_id', sa.Uuid(), nullable=False),
    sa.Column('normalized', sa.String(length=500), nullable=False),
    sa.Column('is_synonym', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['concept_id'], ['risk_factor_concept.id'], name=op.f('fk_risk_factor_concept_name_concept_id_risk_factor_concept'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_factor_concept_name'))
    )
    with op.batch_alter_table('risk_factor_concept_name', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_factor_concept_name_concept_id'), ['concept_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_factor_concept_name_normalized'), ['normalized'], unique=False)

    op.create_table('risk_factor_text',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('allergies', sa.Text(), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('medications', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_risk_factor_text_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_risk_factor_text_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_factor_text'))
    )
    with op.batch_alter_table('risk_factor_text', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_factor_text_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_factor_text_patient_id'), ['patient_id'], unique=False)

    op.create_table('risk_factor_mapping',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('risk_factor_id', sa.Uuid(), nullable=True),
    sa.Column('risk_factor_text_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=True),
    sa.Column('original_name', sa.String(length=500), nullable=True),
    sa.Column('text_chunk', sa.String(length=500), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('match_source', sa.String(length=16), nullable=False),
    sa.Column('match_type', sa.String(length=16), nullable=True),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('matched_via_synonym', sa.Boolean(), nullable=False),
    sa.Column('confirmed_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('confirmed_at', UtcDateTime(), nullable=True),
    sa.Column('brand_name', sa.String(length=500), nullable=True),
    sa.Column('clinical_product_rxcui', sa.String(length=16), nullable=True),
    sa.Column('ingredient_name', sa.String(length=500), nullable=True),
    sa.Column('ingredient_rxcui', sa.String(length=16), nullable=True),
    sa.Column('normalization_key', sa.String(length=100), nullable=True),
    sa.Column('product_rxcui', sa.String(length=16), nullable=True),
    sa.Column('scdf_name', sa.String(length=500), nullable=True),
    sa.Column('scdf_rxcui', sa.String(length=16), nullable=True),
    sa.Column('scdg_name', sa.String(length=500), nullable=True),
    sa.Column('scdg_rxcui', sa.String(length=16), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_user_id'], ['user.id'], name=op.f('fk_risk_factor_mapping_confirmed_by_user_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_risk_factor_mapping_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_risk_factor_mapping_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['risk_factor_id'], ['risk_factor_concept.id'], name=op.f('fk_risk_factor_mapping_risk_factor_id_risk_factor_concept'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['risk_factor_text_id'], ['risk_factor_text.id'], name=op.f('fk_risk_factor_mapping_risk_factor_text_id_risk_factor_text'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_factor_mapping'))
    )
    with op.batch_alter_table('risk_factor_mapping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_factor_mapping_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_factor_mapping_patient_id_type_is_active'), ['patient_id', 'type', 'is_active'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('risk_factor_mapping', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_factor_mapping_patient_id_type_is_active'))
        batch_op.drop_index(batch_op.f('ix_risk_factor_mapping_customer_id'))

    op.drop_table('risk_factor_mapping')
    with op.batch_alter_table('risk_factor_text', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_factor_text_patient_id'))
        batch_op.drop_index(batch_op.f('ix_risk_factor_text_customer_id'))

    op.drop_table('risk_factor_text')
    with op.batch_alter_table('risk_factor_concept_name', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_factor_concept_name_normalized'))
        batch_op.drop_index(batch_op.f('ix_risk_factor_concept_name_concept_id'))

    op.drop_table('risk_factor_concept_name')
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_customer_id_last_name'))
        batch_op.drop_index(batch_op.f('ix_patient_customer_id_date_of_birth'))
        batch_op.drop_index(batch_op.f('ix_patient_customer_id'))

    op.drop_table('patient')
    with op.batch_alter_table('risk_factor_concept', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_factor_concept_type_source_name'))
        batch_op.drop_index(batch_op.f('ix_risk_factor_concept_rxcui'))

    op.drop_table('risk_factor_concept')
