"""The distributed layout on a Citus coordinator (`followups db distribute`): which table
is spread over the workers by which column, and the statements that make it so.

The layout follows from the models, so a table a future migration adds finds its place:
- `app_user` by `id`, first: every owned table is co-located with it;
- every table whose primary key leads with `user_id` (the owned tables, `api_token` once
  its key is `(user_id, id)`), by `user_id`, co-located with `app_user`, in foreign-key
  order (a table goes after the tables it refers to), so one user's rows of every table
  sit in one shard group and a statement that pins the user is routed to one node;
- a directory (a table keyed by one column other than `id`, such as the login emails and
  the calendar addresses), by that key: a lookup by the key is routed to one shard, and
  the key's uniqueness holds across the cluster;
- anything else (`login_failure`, counted before any user is known) stays a plain table on
  the coordinator. No table is a reference table: none is both small and read with the
  owned tables (a reference table's every write is a commit on every node).

Citus keeps a unique key only when it includes the distribution column: such keys are
checked first, and a database that still has one changes nothing (the migrations move
login-email and calendar-token uniqueness into the directories). Each table is
distributed in its own transaction; a second run, or a run after an interrupted one,
does only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, Table, text

from followups.errors import Conflict
from followups.migrate import current_revision, head_revision
from followups.models import Base

TENANT_TABLE = "app_user"
TENANT_COLUMN = "user_id"


@dataclass(frozen=True, slots=True)
class Placement:
    table: str
    column: str | None  # None: a plain table on the coordinator
    colocate_with: str  # Citus's colocate_with: a table's name, or 'default'
    why: str


def layout() -> list[Placement]:
    """Every table's place, in the order they are distributed."""
    tenant, owned, directories, local = [], [], [], []
    for table in Base.metadata.sorted_tables:  # referred tables before the tables referring to them
        key = table.primary_key.columns.keys()
        if table.name == TENANT_TABLE:
            tenant.append(Placement(table.name, "id", "default", "the users: the shard key of every owned row"))
        elif key[:1] == [TENANT_COLUMN]:
            owned.append(Placement(table.name, TENANT_COLUMN, TENANT_TABLE, "a user's own rows"))
        elif len(key) == 1 and key != ["id"]:
            directories.append(Placement(table.name, key[0], "default", f"a directory, looked up by {key[0]}"))
        else:
            local.append(Placement(table.name, None, "", _why_local(table)))
    return tenant + owned + directories + local


def _why_local(table: Table) -> str:
    if TENANT_COLUMN in table.c:
        return "its primary key does not lead with user_id: kept on the coordinator"
    return "not owned by a user: kept on the coordinator"


_HAS_CITUS = text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
_DISTRIBUTED = text(
    "SELECT logicalrelid::regclass::text, column_to_column_name(logicalrelid, partkey)"
    " FROM pg_dist_partition WHERE partmethod = 'h'"
)
# Unique indexes (primary and unique keys included) with their columns.
_UNIQUE_KEYS = text(
    "SELECT i.indexrelid::regclass::text, array_agg(a.attname::text)"
    " FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
    " WHERE i.indisunique AND i.indrelid = to_regclass(:table)"
    " GROUP BY i.indexrelid"
)
_DISTRIBUTE = text("SELECT create_distributed_table(:table, :column, colocate_with => :colocate_with)")
_WORKERS = text("SELECT count(*) FROM citus_get_active_worker_nodes()")


def distribute(engine: Engine, say: Callable[[str], None]) -> int:
    """Distribute what is not yet distributed; says each table's place and returns how many
    tables it distributed (0: the layout was already there). Raises Conflict, changing
    nothing, on a database without Citus, behind the newest migration, or with a unique key
    Citus cannot keep."""
    if engine.dialect.name != "postgresql":
        raise Conflict("`db distribute` needs a Citus coordinator; this database is not PostgreSQL.")
    with engine.connect() as conn:
        if conn.scalar(_HAS_CITUS) is None:
            raise Conflict("this database has no Citus extension: `db distribute` runs on a Citus "
                           "coordinator (CREATE EXTENSION citus, then add the workers).")
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise Conflict(f"the schema is at {current}, not at {head}: run `followups db upgrade` first.")
    plan = [p for p in layout() if p.column is not None]
    with engine.connect() as conn:
        done = dict(conn.execute(_DISTRIBUTED).all())
        for placement in plan:
            _check(conn, placement, done.get(placement.table))
        workers = conn.scalar(_WORKERS)
    changed = 0
    for placement in layout():
        if placement.column is None:
            say(f"{placement.table}: {placement.why}")
        elif done.get(placement.table) == placement.column:
            say(f"{placement.table}: already distributed by {placement.column}")
        else:
            with engine.begin() as conn:  # one table per transaction: a rerun resumes
                conn.execute(_DISTRIBUTE, {"table": placement.table, "column": placement.column,
                                           "colocate_with": placement.colocate_with})
            changed += 1
            say(f"{placement.table}: distributed by {placement.column} ({placement.why})")
    say(f"{changed} table{'s' if changed != 1 else ''} distributed over {workers} worker"
        f"{'s' if workers != 1 else ''}" if changed else "nothing to change: the layout was already distributed")
    return changed


def _check(conn, placement: Placement, distributed_by: str | None) -> None:
    if distributed_by is not None:
        if distributed_by != placement.column:
            raise Conflict(f"{placement.table} is distributed by {distributed_by}, not by {placement.column}: "
                           f"undistribute it first (SELECT undistribute_table('{placement.table}')).")
        return
    for index, columns in conn.execute(_UNIQUE_KEYS, {"table": placement.table}):
        if placement.column not in columns:
            raise Conflict(f"{placement.table} has the unique key {index} on {', '.join(sorted(columns))}, "
                           f"without {placement.column}, which Citus cannot keep: nothing was changed "
                           "(the newest migrations move such keys into directory tables).")
