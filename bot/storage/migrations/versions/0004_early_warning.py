"""early warning: mention buckets, incidents and their cases

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('topic_key', sa.String(length=60), nullable=False),
    sa.Column('topic_name', sa.String(length=200), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('detected_at', sa.DateTime(), nullable=False),
    sa.Column('peak_at', sa.DateTime(), nullable=False),
    sa.Column('peak_value', sa.Float(), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=False),
    sa.Column('last_above_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_state', ['state', 'started_at'], unique=False)

    op.create_table('mention_bucket_watermarks',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_mention_bucket_watermarks'))
    )
    op.create_table('mention_buckets',
    sa.Column('bucket', sa.DateTime(), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('outage', sa.Integer(), nullable=False),
    sa.Column('churn_risk', sa.Integer(), nullable=False),
    sa.Column('spam', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'brand', 'topic', name=op.f('pk_mention_buckets'))
    )
    op.create_table('incident_cases',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged', sa.Boolean(), nullable=False),
    sa.Column('priority_raised', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_incident_cases_case_id_cases')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_cases_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'case_id', name=op.f('pk_incident_cases'))
    )
    with op.batch_alter_table('incident_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_cases_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_cases_case_id'))

    op.drop_table('incident_cases')
    op.drop_table('mention_buckets')
    op.drop_table('mention_bucket_watermarks')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_state')

    op.drop_table('incidents')
