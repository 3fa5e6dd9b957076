"""index for the outlook sent-copy sweep

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:34:00.277417
"""
from alembic import op
import sqlalchemy as sa
import mailbeacon.storage.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.create_index('ix_tracked_messages_status_provider', ['status', 'provider'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_tracked_messages_status_provider')
