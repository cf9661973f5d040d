"""hiding footprints: where a withdrawal took a commitment away from the figures

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 04:10:00

A withdrawal moves the hiding revision, which made every cached figure unusable. It now
also records where the commitment counted (state, policy, stage before), so figures whose
filter covers none of it are carried over (figures/revision.py). Revisions before this
migration have no footprint and are treated as hiding anything.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'hiding_footprint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('footprint', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hiding_footprint')),
    )
    with op.batch_alter_table('hiding_footprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hiding_footprint_revision'), ['revision'], unique=False)


def downgrade():
    with op.batch_alter_table('hiding_footprint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiding_footprint_revision'))
    op.drop_table('hiding_footprint')
