"""kiosk heartbeats and response integrity flags

Revision ID: 5e1a7c3d9b20
Revises: 2c5253f76ec6
Create Date: 2026-11-24 18:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1a7c3d9b20'
down_revision = '2c5253f76ec6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kiosk_heartbeat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.String(length=64), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.CheckConstraint('queued >= 0', name=op.f('ck_kiosk_heartbeat_queued_non_negative')),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], name=op.f('fk_kiosk_heartbeat_centre_id_centre'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_heartbeat')),
    sa.UniqueConstraint('kiosk_id', name=op.f('uq_kiosk_heartbeat_kiosk_id'))
    )
    with op.batch_alter_table('kiosk_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_heartbeat_centre_id'), ['centre_id'], unique=False)

    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_key', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('integrity_flag', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('excluded', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_response_device_submitted', ['device_key', 'submitted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_device_submitted')
        batch_op.drop_column('excluded')
        batch_op.drop_column('integrity_flag')
        batch_op.drop_column('device_key')

    with op.batch_alter_table('kiosk_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_heartbeat_centre_id'))

    op.drop_table('kiosk_heartbeat')
