"""Real databases for every test: SQLite always, PostgreSQL when a URL is given.

Each backend is migrated once per run; each test starts from empty tables (a fresh
copy of the migrated SQLite file, or DELETE of every row on PostgreSQL). Outside CI, without
FOLLOWUPS_TEST_POSTGRES_URL, only the PostgreSQL half is skipped, saying why; in CI
(CI=true) a missing URL fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from followups.app import create_app
from followups.config import Settings
from followups.db import Database
from followups.migrate import upgrade
from followups.models import Base
from followups.users import service as users_service
from mailservers import Dovecot
from servers import WebhookReceiver

PG_URL_ENV = "FOLLOWUPS_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]
# A Thursday afternoon in UTC, a week before the US DST change.
NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


def pytest_configure(config) -> None:
    """Under pytest-xdist (`make test` runs two workers) each worker has a PostgreSQL database
    of its own: the first the one named by the URL, the others that name + `_gw1`, `_gw2`
    ... (created here when missing, which needs the CREATEDB right; .ci/run makes them). The
    URL is rewritten for the worker's process and the processes its tests start."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    url = os.environ.get(PG_URL_ENV)
    if url and worker != "gw0":
        os.environ[PG_URL_ENV] = _worker_database(url, worker)


# The modules that start servers, clusters and load of their own and bound how long things
# take (seconds to a minute a test): under pytest-xdist they run one after another on one
# worker, first, while the other worker takes the rest (then both do). Two of them at once
# on 2 cores doubled each other's time. The benchmarks' smoke tests and the worker crash
# test are as long but judge no time: they go with the rest, to even out the two workers.
PROCESS_HEAVY = {
    "test_import_while_serving.py", "test_load_faults.py", "test_production_failover.py",
    "test_production_login_limits.py", "test_production_nodes.py", "test_production_pgbouncer.py",
    "test_production_processes.py", "test_production_replica.py", "test_serve_worker.py",
    "test_serving.py", "test_stuck_database.py",
}


def pytest_collection_modifyitems(config, items) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            if item.path.name in PROCESS_HEAVY:
                item.add_marker(pytest.mark.xdist_group("process_heavy"))


def _worker_database(url: str, worker: str) -> str:
    given = make_url(url)
    name = f"{given.database}_{worker}"
    dsn = given.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return given.set(database=name).render_as_string(hide_password=False)


def pg_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"CI must test PostgreSQL too: set {PG_URL_ENV}", pytrace=False)
    return url


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its cheapest in the tests' own process: the tests sign up and sign in over a
    thousand times, and the cost of a password hash is not what they test (the stored hash
    names its parameters, so it verifies the same; servers started as processes keep the
    default cost). The default costs 0.3 s a hash here: half the suite's time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(Settings(database_url=f"sqlite:///{path}"))
    upgrade(database.engine)
    database.dispose()
    return str(path)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    url = pg_url()
    if not url:
        pytest.skip(f"PostgreSQL half skipped: {PG_URL_ENV} is not set (make test in CI sets it)")
    database = Database(Settings(database_url=url))
    with database.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(database.engine)
    yield database
    database.dispose()


def _truncate(database: Database) -> None:
    """Every table emptied, new files and all (what the query-plan tests start from)."""
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))


def _empty(database: Database) -> None:
    """Every table emptied. DELETE, children first, not TRUNCATE: on the few rows a test
    leaves, 5 ms where a TRUNCATE of the 15 tables took 50-400 ms (new files, fsync'ed)."""
    with database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db(request, backend, tmp_path) -> Iterator[Database]:
    if backend == "postgresql":
        database = request.getfixturevalue("pg_database")
        _empty(database)
        yield database
        return
    path = tmp_path / "followups.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    database = Database(Settings(database_url=f"sqlite:///{path}"))
    yield database
    database.dispose()


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db, clock):
    application = create_app(db.settings, db=db, migrate=False)
    application.state.clock = clock
    return application


@dataclass
class Api:
    """A test client and the users it signed up."""

    client: TestClient
    users: dict[str, dict] = field(default_factory=dict)

    def signup(self, email: str = "ada@example.com", timezone: str = "UTC") -> dict:
        r = self.client.post(
            "/auth/register", json={"email": email, "password": "correct horse", "timezone": timezone}
        )
        assert r.status_code == 201, r.text
        r = self.client.post("/auth/login", json={"email": email, "password": "correct horse"})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['accessToken']}"}
        self.users[email] = headers
        return headers

    def call(self, method: str, url: str, headers: dict, expect: int | None = None, **kw):
        r = self.client.request(method, url, headers=headers, **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {url}: {r.status_code} {r.text}"
        return r


@pytest.fixture
def api(app) -> Iterator[Api]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)


@pytest.fixture
def ada(api) -> dict:
    """Headers of a signed-in user in UTC."""
    return api.signup("ada@example.com", "UTC")


@contextmanager
def serving(app) -> Iterator[str]:
    """The app served by a real uvicorn on a free loopback port, in a thread; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_url(app):
    """A real server, so requests run truly concurrently."""
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def dovecot():
    """A real Dovecot on a loopback port for the session (tests.mailservers); its sent folder
    is "Gesendet", found through SPECIAL-USE."""
    server = Dovecot(sent="Gesendet").start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1 that records what it is sent."""
    r = WebhookReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def loopback_webhooks(app):
    """The test receivers listen on 127.0.0.1: saving such a webhook URL is allowed (off by
    default: followups.outbound refuses loopback and private addresses)."""
    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private": True})
    return app


@dataclass
class HeldLookup:
    """The DNS lookup of `host`, held until `answer` is set (then 93.184.215.14, public)."""

    host: str = "slow.hooks.example"
    looking_up: threading.Event = field(default_factory=threading.Event)
    answer: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def held_lookup(app, monkeypatch) -> Iterator[HeldLookup]:
    """A webhook name whose lookup the test holds for as long as it likes. The resolver here
    answers every name at once (`getent ahosts` of a missing name: 0.00 s) and its address
    is the machine's (/etc/resolv.conf): no real slow DNS to point at, so the lookup is held
    at the call followups.outbound makes (socket.getaddrinfo). The app's resolution deadline
    is raised so that it does not give up first."""
    held = HeldLookup()
    app.state.settings = app.state.settings.model_copy(update={"webhook_timeout_s": 60.0})
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == held.host and not kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            held.looking_up.set()
            held.answer.wait(60)
            return real("93.184.215.14", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        yield held
    finally:
        held.answer.set()
