"""list index newest first

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import mailbeacon.storage.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The list's order, ids included, so its pages are index ranges; it serves every query the old index did.
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.create_index('ix_tracked_messages_user_created',
                              ['user_id', sa.text('created_at DESC'), sa.text('id DESC')], unique=False)
        batch_op.drop_index('ix_tracked_messages_user_sent')


def downgrade() -> None:
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.create_index('ix_tracked_messages_user_sent', ['user_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_tracked_messages_user_created')
