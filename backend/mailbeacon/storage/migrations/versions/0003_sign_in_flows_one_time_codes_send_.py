"""sign-in flows, one-time codes, send bookkeeping

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:02:06.527148
"""
from alembic import op
import sqlalchemy as sa
import mailbeacon.storage.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_flows',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_auth_flows'))
    )
    op.create_table('auth_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client', sa.String(length=32), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_auth_codes'))
    )
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_opens', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('requested_clicks', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('client_seen', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('tracked_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('stashed_original', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.drop_column('stashed_original')
        batch_op.drop_column('tracked_digest')
        batch_op.drop_column('client_seen')
        batch_op.drop_column('requested_clicks')
        batch_op.drop_column('requested_opens')

    op.drop_table('auth_codes')
    op.drop_table('auth_flows')
