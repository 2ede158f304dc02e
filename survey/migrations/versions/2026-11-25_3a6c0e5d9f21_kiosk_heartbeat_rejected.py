"""kiosk heartbeat: ratings the server refused, kept on the kiosk

A kiosk reports how many of its ratings got a definitive refusal (4xx), so
staff see ratings that are on a device but not in the database.

Revision ID: 3a6c0e5d9f21
Revises: b7e2d9c4a1f5
Create Date: 2026-11-25 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3a6c0e5d9f21'
down_revision = 'b7e2d9c4a1f5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosk_heartbeat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejected', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('kiosk_heartbeat', schema=None) as batch_op:
        batch_op.drop_column('rejected')
