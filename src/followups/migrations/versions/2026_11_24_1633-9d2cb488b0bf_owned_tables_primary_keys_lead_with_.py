"""owned tables' primary keys lead with user_id

Revision ID: 9d2cb488b0bf
Revises: 1dc6a52601bc
Create Date: 2026-11-24 16:33:50.505826

Citus refuses a primary key without the distribution column: the tables distributed by
user_id get the primary key (user_id, id) instead of (id). The unique constraints on
(user_id, id) that 1dc6a52601bc added as the target of the composite foreign keys become
redundant and go; the foreign keys reference the primary key instead.

Autogenerate sees only the dropped unique constraints (it does not compare primary keys);
written by hand. PostgreSQL refuses to drop a constraint a foreign key uses, so the
foreign keys between owned tables go first and come back last. SQLite rebuilds each table
(batch mode, foreign keys off during migrations: migrations/env.py); its foreign keys name
the referenced columns, not a constraint, and stay as they are.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '9d2cb488b0bf'
down_revision: str | None = '1dc6a52601bc'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNED = ['job', 'contact', 'outreach', 'follow_up', 'notification', 'delivery']
REFERENCED = ['job', 'contact', 'outreach', 'follow_up', 'notification']
# table -> [(column, referenced table)], as in 1dc6a52601bc
REFERENCES = {
    'outreach': [('job_id', 'job'), ('contact_id', 'contact')],
    'follow_up': [('job_id', 'job'), ('contact_id', 'contact'), ('outreach_id', 'outreach')],
    'notification': [('job_id', 'job'), ('contact_id', 'contact'), ('followup_id', 'follow_up')],
    'delivery': [('notification_id', 'notification')],
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _drop_foreign_keys() -> None:
    for table, columns in REFERENCES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _column, target in columns:
                batch_op.drop_constraint(batch_op.f(f'fk_{table}_user_id_{target}'), type_='foreignkey')


def _create_foreign_keys() -> None:
    for table, columns in REFERENCES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, target in columns:
                batch_op.create_foreign_key(batch_op.f(f'fk_{table}_user_id_{target}'), target,
                                            ['user_id', column], ['user_id', 'id'])


def upgrade() -> None:
    sqlite = _sqlite()
    if not sqlite:
        _drop_foreign_keys()
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in REFERENCED:
                batch_op.drop_constraint(batch_op.f(f'uq_{table}_user_id_id'), type_='unique')
            batch_op.drop_constraint(batch_op.f(f'pk_{table}'), type_='primary')
            batch_op.create_primary_key(batch_op.f(f'pk_{table}'), ['user_id', 'id'])
    if not sqlite:
        _create_foreign_keys()


def downgrade() -> None:
    sqlite = _sqlite()
    if not sqlite:
        _drop_foreign_keys()
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'pk_{table}'), type_='primary')
            batch_op.create_primary_key(batch_op.f(f'pk_{table}'), ['id'])
            if table in REFERENCED:
                batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_user_id_id'), ['user_id', 'id'])
    if not sqlite:
        _create_foreign_keys()
