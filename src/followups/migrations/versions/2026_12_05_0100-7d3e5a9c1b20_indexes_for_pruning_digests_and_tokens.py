"""indexes for pruning old digests and expired or revoked tokens

Revision ID: 7d3e5a9c1b20
Revises: 7e3a9c51d2b6
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7d3e5a9c1b20'
down_revision: str | None = '7e3a9c51d2b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIGEST = sa.text("kind = 'digest'")
REVOKED = sa.text("revoked_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_digest_due', ['due_at'], unique=False,
                              sqlite_where=DIGEST, postgresql_where=DIGEST)
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_token_revoked_at'), ['revoked_at'], unique=False,
                              sqlite_where=REVOKED, postgresql_where=REVOKED)


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_revoked_at'), sqlite_where=REVOKED, postgresql_where=REVOKED)
        batch_op.drop_index(batch_op.f('ix_api_token_expires_at'))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_digest_due', sqlite_where=DIGEST, postgresql_where=DIGEST)
