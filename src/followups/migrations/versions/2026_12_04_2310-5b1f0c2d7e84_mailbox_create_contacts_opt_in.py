"""mailbox: the opt-in that creates contacts from sent mail

Revision ID: 5b1f0c2d7e84
Revises: 3a9e14796403
Create Date: 2026-12-04 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5b1f0c2d7e84'
down_revision: str | None = '3a9e14796403'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('create_contacts', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
        batch_op.add_column(sa.Column('contact_tag', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.drop_column('contact_tag')
        batch_op.drop_column('create_contacts')
