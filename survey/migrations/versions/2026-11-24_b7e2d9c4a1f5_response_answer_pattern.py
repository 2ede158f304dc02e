"""response answer pattern: the answers as one short string for the burst check

A new rating is compared with the device's recent ratings by their patterns
instead of by reading up to 20 × items answer rows. Ratings stored before
have no pattern and are never burst neighbours.

Revision ID: b7e2d9c4a1f5
Revises: 8d1f4c2a7b63
Create Date: 2026-11-24 22:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2d9c4a1f5'
down_revision = '8d1f4c2a7b63'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_pattern', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('answer_pattern')
