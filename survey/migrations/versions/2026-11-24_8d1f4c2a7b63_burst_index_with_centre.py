"""burst index with the centre: (device_key, centre_id, submitted_at)

The burst check looks for ratings of one device at one centre in a time
window. With the centre in the index every condition is an index condition,
so PostgreSQL's generic plan (the submit statement is prepared) never picks
the centre index and filters thousands of rows by device instead.

Revision ID: 8d1f4c2a7b63
Revises: f37dbba788a6
Create Date: 2026-11-24 21:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8d1f4c2a7b63'
down_revision = 'f37dbba788a6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_device_submitted')
        batch_op.create_index('ix_response_device_centre_submitted',
                              ['device_key', 'centre_id', 'submitted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_device_centre_submitted')
        batch_op.create_index('ix_response_device_submitted', ['device_key', 'submitted_at'],
                              unique=False)
