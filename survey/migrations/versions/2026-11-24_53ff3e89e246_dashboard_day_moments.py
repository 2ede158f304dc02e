"""dashboard day moments: the finished-day cache holds counts (moments), not ratings

The cache is rebuilt from ``answer`` on demand, so nothing is copied.

Revision ID: 53ff3e89e246
Revises: 5e1a7c3d9b20
Create Date: 2026-11-24 19:12:38.140060

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '53ff3e89e246'
down_revision = '5e1a7c3d9b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('day_moments',
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('max_response_id', sa.Integer(), nullable=False),
    sa.Column('id_sum', sa.BigInteger(), nullable=False),
    sa.Column('layout', sa.Text(), nullable=False),
    sa.Column('counts', sa.LargeBinary(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], name=op.f('fk_day_moments_centre_id_centre'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('centre_id', 'day', name=op.f('pk_day_moments'))
    )
    op.drop_table('day_ratings')


def downgrade():
    op.create_table('day_ratings',
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('max_response_id', sa.Integer(), nullable=False),
    sa.Column('item_codes', sa.Text(), nullable=False),
    sa.Column('ratings', sa.LargeBinary(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], name=op.f('fk_day_ratings_centre_id_centre'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('centre_id', 'day', name=op.f('pk_day_ratings'))
    )
    op.drop_table('day_moments')
