"""indexes for load: the policy's one-reply-per-post check, the ETA's recent pace, the SLA clocks near due

Revision ID: 0002
Revises: 0001
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_target', ['target_id'], unique=False)
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index('ix_drafts_decided', ['auto_approved', 'decided_at'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_first_response_due', ['first_response_due_at'], unique=False)
        batch_op.create_index('ix_cases_first_response_breach', ['first_response_breach_at'], unique=False)
        batch_op.create_index('ix_cases_resolution_due', ['resolution_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_resolution_due')
        batch_op.drop_index('ix_cases_first_response_breach')
        batch_op.drop_index('ix_cases_first_response_due')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_drafts_decided')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_target')
