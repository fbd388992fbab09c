"""Tenant-ready schema: the rules a PostgreSQL sharded by user (Citus, distributed by
user_id) needs. Checked on the models and on the SQL the app really sends."""

from __future__ import annotations

import re

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint, event

from followups.models import Base
from helpers import contact, followup, job, outreach, send

# Tables that are not distributed by user_id, and why.
NOT_DISTRIBUTED = {
    "app_user": "the tenant table itself (its id is the distribution key)",
    "api_token": "looked up by token hash before the user is known: an auth table on the coordinator",
    "login_failure": "failed sign-ins, counted per account and address before any user is known: on the coordinator",
}
# Tables with one row per user: keyed by user_id alone, the distribution column itself.
ONE_PER_USER = {
    "mailbox": "a user's own mailbox (followups.mailbox): at most one, found by its owner",
}
# Indexes the worker uses to claim work across users; on a sharded cluster each shard
# keeps its own and the worker's claims run per shard.
CROSS_USER_INDEXES = {
    "ix_follow_up_unreminded", "ix_notification_unpresented_due", "ix_delivery_pending",
    "ix_app_user_next_digest_at", "ix_mailbox_next_sync_at",
    "ix_notification_digest_due",  # the worker's pruning of old digests (followups.housekeeping)
}
# Plain (non-unique) indexes on id: lookups by id alone (session.get, the worker's claims
# by id). Allowed on Citus (a shard-local index; such a lookup asks every shard); without
# them those lookups scan the table, since the primary key leads with user_id.
ID_LOOKUP_INDEXES = {f"ix_{t.name}_id" for t in Base.metadata.sorted_tables}
OWNED = [t for t in Base.metadata.sorted_tables if t.name not in NOT_DISTRIBUTED]


def test_every_owned_table_carries_user_id():
    assert OWNED
    for table in OWNED:
        column = table.c.get("user_id")
        assert column is not None and not column.nullable, table.name
        assert any(fk.column.table.name == "app_user" for fk in column.foreign_keys), table.name


def test_every_unique_key_and_hot_index_leads_with_user_id():
    """Primary keys included: Citus refuses a primary key without the distribution column."""
    for table in OWNED:
        key = ["user_id"] if table.name in ONE_PER_USER else ["user_id", "id"]
        assert table.primary_key.columns.keys() == key, table.name
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
                assert constraint.columns.keys()[0] == "user_id", (table.name, constraint.name)
        for index in table.indexes:
            if index.name in CROSS_USER_INDEXES:
                continue
            if index.name in ID_LOOKUP_INDEXES:
                assert not index.unique and [c.name for c in index.columns] == ["id"], index.name
                continue
            first = list(index.columns)[0].name
            assert first == "user_id" or index.unique is False and first == "user_id", (table.name, index.name)


def test_every_foreign_key_between_owned_tables_includes_user_id():
    """Citus: a foreign key between two tables distributed by user_id must include it, and
    match the owner's column to the owner's column (which also keeps a row from pointing at
    another user's row)."""
    owned = {t.name for t in OWNED}
    checked = 0
    for table in OWNED:
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name not in owned:
                continue
            checked += 1
            pairs = {e.parent.name: e.column.name for e in fk.elements}
            assert pairs.get("user_id") == "user_id", (table.name, fk.name, pairs)
            # The referred columns are the referred table's primary key (user_id, id).
            referred = set(pairs.values())
            assert referred == set(fk.referred_table.primary_key.columns.keys()), (table.name, fk.name, referred)
    assert checked >= 9  # outreach 2, follow_up 3, notification 3, delivery 1


def test_ids_are_globally_unique_uuids():
    """Every table has a UUID id; the ORM knows a row by it alone (session.get(Model, id)),
    whatever the database primary key: (user_id, id) on the owned tables, (id) elsewhere."""
    for table in Base.metadata.sorted_tables:
        if table.name in ONE_PER_USER:  # its owner's id is its id
            assert table.primary_key.columns.keys() == ["user_id"], table.name
            continue
        assert table.c.id.type.__class__.__name__ == "Uuid", table.name
        expected = ["id"] if table.name in NOT_DISTRIBUTED else ["user_id", "id"]
        assert table.primary_key.columns.keys() == expected, table.name
    for mapper in Base.registry.mappers:
        key = ["user_id"] if mapper.local_table.name in ONE_PER_USER else ["id"]
        assert [c.name for c in mapper.primary_key] == key, mapper.class_.__name__


def test_every_statement_of_a_users_session_filters_and_joins_on_user_id(api, db):
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    headers = api.signup("tenant@example.com")
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        j, c = job(api, headers), contact(api, headers)
        o = outreach(api, headers, jobId=j["id"], contactId=c["id"])
        send(api, headers, o["followup"]["id"])
        f = followup(api, headers, "2026-03-06T09:00:00Z", jobId=j["id"])
        api.call("PATCH", f"/followups/{f['id']}", headers, 200, json={"note": "n"})
        api.call("DELETE", f"/followups/{f['id']}", headers, 204)
        api.call("PATCH", f"/outreach/{o['id']}", headers, 200, json={"outcome": "POSITIVE"})
        api.call("PATCH", f"/jobs/{j['id']}", headers, 200, json={"stage": "REJECTED", "archived": True})
        api.call("PATCH", f"/contacts/{c['id']}", headers, 200, json={"name": "N"})
        for due in ("today", "overdue", "upcoming"):
            api.call("GET", f"/followups?due={due}", headers, 200)
            api.call("GET", f"/notifications?scope={due}", headers, 200)
        api.call("GET", "/outreach", headers, 200)
        api.call("GET", "/jobs?archived=true", headers, 200)
        api.call("GET", "/contacts", headers, 200)
        api.call("DELETE", f"/outreach/{o['id']}", headers, 204)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)

    owned = {t.name for t in OWNED}
    checked = 0
    for sql in statements:
        verb = sql.split(" ", 1)[0].upper()
        if verb not in ("SELECT", "UPDATE", "DELETE"):
            continue
        tables = set(re.findall(r"(?:FROM|JOIN|UPDATE) (\w+)", sql)) & owned
        if not tables:
            continue
        checked += 1
        where = sql.split(" WHERE ", 1)[-1]
        # No exception for the ORM's flush either: it updates by the table's primary key,
        # WHERE user_id = .. AND id = .. (the mapper's identity is id alone).
        assert "user_id" in where, sql
        for on in re.findall(r" JOIN \w+ ON (.*?)(?= LEFT| JOIN| WHERE|$)", sql):
            assert "user_id" in on, sql
    assert checked > 20
