"""api_token owned by its user; directories of login emails and calendar addresses

Revision ID: 7e3a9c51d2b6
Revises: 5b1f0c2d7e84
Create Date: 2026-12-05 00:30:00.000000

Every sign-in reads one user's rows (issue 23): a token carries its user id, so api_token
gets the primary key (user_id, id) and the unique key (user_id, token_hash) of a table
distributed by user_id; a plain index on token_hash keeps the old tokens (no user id in
them) found until they expire. The uniqueness of login emails and calendar tokens moves
to two directory tables keyed by the email key and by the token (each distributable by
its own key): app_user's unique keys go (Citus cannot keep a unique key without the
distribution column), and the directories are filled from the existing rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7e3a9c51d2b6'
down_revision: str | None = '5b1f0c2d7e84'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'email_address',
        sa.Column('email_key', sa.String(length=320), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint('email_key', name=op.f('pk_email_address')),
    )
    op.create_table(
        'calendar_address',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_calendar_address')),
    )
    op.execute('INSERT INTO email_address (email_key, user_id) SELECT email_key, id FROM app_user')
    op.execute('INSERT INTO calendar_address (token, user_id) SELECT calendar_token, id FROM app_user'
               ' WHERE calendar_token IS NOT NULL')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_email_key'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_app_user_calendar_token'), type_='unique')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
        batch_op.drop_constraint(batch_op.f('uq_api_token_token_hash'), type_='unique')
        batch_op.drop_constraint(batch_op.f('pk_api_token'), type_='primary')
        batch_op.create_primary_key(batch_op.f('pk_api_token'), ['user_id', 'id'])
        batch_op.create_unique_constraint(batch_op.f('uq_api_token_user_id_token_hash'), ['user_id', 'token_hash'])
        batch_op.create_index('ix_api_token_token_hash', ['token_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index('ix_api_token_token_hash')
        batch_op.drop_constraint(batch_op.f('uq_api_token_user_id_token_hash'), type_='unique')
        batch_op.drop_constraint(batch_op.f('pk_api_token'), type_='primary')
        batch_op.create_primary_key(batch_op.f('pk_api_token'), ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_api_token_token_hash'), ['token_hash'])
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_calendar_token'), ['calendar_token'])
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_email_key'), ['email_key'])
    op.drop_table('calendar_address')
    op.drop_table('email_address')
