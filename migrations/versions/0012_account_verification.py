"""account verification: a confirmed email, a staff check of self-registered officials

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:20:00

Only real officials are named: an official who signed up alone counts and is named
outside staff only once staff verify them. Every account that exists before this
migration was either made by staff or has been in use under the old rules, so it is
migrated as confirmed and verified at its creation time, with no origin recorded.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ORIGINS = ('signup', 'import', 'mailbox', 'staff')


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('verified_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'origin',
                sa.Enum(*ORIGINS, name='origin', native_enum=False, create_constraint=True, length=20),
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f('ix_user_verified_at'), ['verified_at'], unique=False)
        batch_op.create_foreign_key(
            'fk_user_verified_by_id_user', 'user', ['verified_by_id'], ['id'], ondelete='SET NULL'
        )
    user = sa.table(
        'user',
        sa.column('created_at', sa.DateTime()),
        sa.column('email_confirmed_at', sa.DateTime()),
        sa.column('verified_at', sa.DateTime()),
    )
    op.execute(
        user.update().values(
            email_confirmed_at=sa.func.coalesce(user.c.created_at, sa.func.current_timestamp()),
            verified_at=sa.func.coalesce(user.c.created_at, sa.func.current_timestamp()),
        )
    )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint('fk_user_verified_by_id_user', type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_user_origin'), type_='check')
        batch_op.drop_index(batch_op.f('ix_user_verified_at'))
        batch_op.drop_column('origin')
        batch_op.drop_column('verified_by_id')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('email_confirmed_at')
