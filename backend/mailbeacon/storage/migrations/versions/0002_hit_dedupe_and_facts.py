"""hit dedupe and facts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 15:43:01.347767
"""
from alembic import op
import sqlalchemy as sa
import mailbeacon.storage.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=False, server_default='{}'))



def downgrade() -> None:
    with op.batch_alter_table('hits', schema=None) as batch_op:
        batch_op.drop_column('facts')
        batch_op.drop_column('counted')

