"""dashboard day cache

Revision ID: 2c5253f76ec6
Revises: 92c03d028c9f
Create Date: 2026-11-24 18:43:57.764951

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2c5253f76ec6'
down_revision = '92c03d028c9f'
branch_labels = None
depends_on = None


def upgrade():
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


def downgrade():
    op.drop_table('day_ratings')
