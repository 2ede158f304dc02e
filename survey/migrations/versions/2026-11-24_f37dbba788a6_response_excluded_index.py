"""response excluded index: a small partial index for the dashboard's freshness check

Revision ID: f37dbba788a6
Revises: 53ff3e89e246
Create Date: 2026-11-24 19:40:36.113971

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f37dbba788a6'
down_revision = '53ff3e89e246'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_excluded', ['id'], unique=False, sqlite_where=sa.text('excluded = 1'), postgresql_where=sa.text('excluded'))



def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_excluded', sqlite_where=sa.text('excluded = 1'), postgresql_where=sa.text('excluded'))

