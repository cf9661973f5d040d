"""estimated dates: a timeline entry says when its date is a guess

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 08:35:00

A spreadsheet row without a date may be recorded with the date of its file, when staff
choose so for the whole file; the timeline then says "date estimated". Every entry that
exists before this migration has the date it was given.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('date_estimated', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The default only fills the rows that exist; the application sets it from now on.
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.alter_column('date_estimated', server_default=None)


def downgrade():
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.drop_column('date_estimated')
