"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-04 15:35:11.329407
"""
from alembic import op
import sqlalchemy as sa
import mailbeacon.storage.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('is_local', sa.Boolean(), nullable=False),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('client', sa.String(length=32), nullable=True),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('do_not_track',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pattern', sa.String(length=320), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_do_not_track_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_do_not_track')),
    sa.UniqueConstraint('user_id', 'pattern', name='uq_do_not_track_user_pattern')
    )
    with op.batch_alter_table('do_not_track', schema=None) as batch_op:
        batch_op.create_index('ix_do_not_track_pattern', ['pattern'], unique=False)

    op.create_table('mail_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('subject_id', sa.String(length=255), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('encrypted_secret', sa.Text(), nullable=True),
    sa.Column('scopes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_accounts')),
    sa.UniqueConstraint('provider', 'address', name='uq_mail_accounts_provider_address')
    )
    with op.batch_alter_table('mail_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_accounts_user_id'), ['user_id'], unique=False)

    op.create_table('user_settings',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('open_tracking_enabled', sa.Boolean(), nullable=False),
    sa.Column('click_tracking_enabled', sa.Boolean(), nullable=False),
    sa.Column('notifications_enabled', sa.Boolean(), nullable=False),
    sa.Column('default_track_opens', sa.Boolean(), nullable=False),
    sa.Column('default_track_clicks', sa.Boolean(), nullable=False),
    sa.Column('notify_every_open', sa.Boolean(), nullable=False),
    sa.Column('notify_clicks', sa.Boolean(), nullable=False),
    sa.Column('quiet_hours_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_hours_end', sa.String(length=5), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('outlook_opened_category', sa.Boolean(), nullable=False),
    sa.Column('updated_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_settings'))
    )
    op.create_table('tracked_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('provider_message_id', sa.String(length=255), nullable=True),
    sa.Column('provider_thread_id', sa.String(length=255), nullable=True),
    sa.Column('provider_draft_id', sa.String(length=255), nullable=True),
    sa.Column('internet_message_id', sa.String(length=998), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('sent_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_detail', sa.Text(), nullable=True),
    sa.Column('track_opens', sa.Boolean(), nullable=False),
    sa.Column('track_clicks', sa.Boolean(), nullable=False),
    sa.Column('tracking_skipped_reason', sa.String(length=32), nullable=True),
    sa.Column('tracking_skipped_detail', sa.Text(), nullable=True),
    sa.Column('opted_out_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('human_open_count', sa.Integer(), nullable=False),
    sa.Column('machine_open_count', sa.Integer(), nullable=False),
    sa.Column('first_opened_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_opened_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('human_click_count', sa.Integer(), nullable=False),
    sa.Column('machine_click_count', sa.Integer(), nullable=False),
    sa.Column('first_clicked_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_clicked_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['mail_accounts.id'], name=op.f('fk_tracked_messages_account_id_mail_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tracked_messages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_messages')),
    sa.UniqueConstraint('public_id', name=op.f('uq_tracked_messages_public_id')),
    sa.UniqueConstraint('user_id', 'idempotency_key', name='uq_tracked_messages_user_idem'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracked_messages_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_tracked_messages_thread', ['user_id', 'provider_thread_id'], unique=False)
        batch_op.create_index('ix_tracked_messages_user_sent', ['user_id', 'created_at'], unique=False)

    op.create_table('links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('is_honeypot', sa.Boolean(), nullable=False),
    sa.Column('human_click_count', sa.Integer(), nullable=False),
    sa.Column('machine_click_count', sa.Integer(), nullable=False),
    sa.Column('first_clicked_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_clicked_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['tracked_messages.id'], name=op.f('fk_links_message_id_tracked_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_links')),
    sa.UniqueConstraint('message_id', 'position', name='uq_links_message_position')
    )
    op.create_table('sender_activity',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('activity', sa.String(length=16), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('at_epoch', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['tracked_messages.id'], name=op.f('fk_sender_activity_message_id_tracked_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sender_activity_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sender_activity'))
    )
    with op.batch_alter_table('sender_activity', schema=None) as batch_op:
        batch_op.create_index('ix_sender_activity_user_time', ['user_id', 'at'], unique=False)

    op.create_table('hits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hit_uid', sa.String(length=40), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('link_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('hit_type', sa.String(length=8), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('device_class', sa.String(length=16), nullable=True),
    sa.Column('client', sa.String(length=64), nullable=True),
    sa.Column('place', sa.String(length=128), nullable=True),
    sa.Column('occurred_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['links.id'], name=op.f('fk_hits_link_id_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['tracked_messages.id'], name=op.f('fk_hits_message_id_tracked_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hits')),
    sa.UniqueConstraint('hit_uid', name=op.f('uq_hits_hit_uid'))
    )
    with op.batch_alter_table('hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hits_link_id'), ['link_id'], unique=False)
        batch_op.create_index('ix_hits_message_time', ['message_id', 'occurred_at'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', mailbeacon.storage.models.UTCDateTime(), nullable=False),
    sa.Column('read_at', mailbeacon.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['hit_id'], ['hits.id'], name=op.f('fk_notifications_hit_id_hits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['tracked_messages.id'], name=op.f('fk_notifications_message_id_tracked_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('hit_id', name=op.f('uq_notifications_hit_id'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')

    op.drop_table('notifications')
    with op.batch_alter_table('hits', schema=None) as batch_op:
        batch_op.drop_index('ix_hits_message_time')
        batch_op.drop_index(batch_op.f('ix_hits_link_id'))

    op.drop_table('hits')
    with op.batch_alter_table('sender_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_sender_activity_user_time')

    op.drop_table('sender_activity')
    op.drop_table('links')
    with op.batch_alter_table('tracked_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_tracked_messages_user_sent')
        batch_op.drop_index('ix_tracked_messages_thread')
        batch_op.drop_index(batch_op.f('ix_tracked_messages_account_id'))

    op.drop_table('tracked_messages')
    op.drop_table('user_settings')
    with op.batch_alter_table('mail_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_accounts_user_id'))

    op.drop_table('mail_accounts')
    with op.batch_alter_table('do_not_track', schema=None) as batch_op:
        batch_op.drop_index('ix_do_not_track_pattern')

    op.drop_table('do_not_track')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
