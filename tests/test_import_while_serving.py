"""A large CSV import on SQLite lets the API write meanwhile: it commits in parts."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cli_helpers import FOLLOWUPS
from followups.app import create_app
from followups.config import Settings
from followups.db import Database
from followups.models import Job

ROWS = 20_000


@pytest.fixture
def backend():  # the one write lock is SQLite's; PostgreSQL writers do not queue on it
    return "sqlite"


def test_api_writes_go_on_during_a_large_import(db, tmp_path, clock):
    # The API waits 2 s for the write lock (the default is 10 s): an import that held it
    # for its whole run (several seconds for this file) answered 503 here.
    settings = Settings(database_url=db.settings.database_url, sqlite_busy_timeout_ms=2000)
    served = Database(settings)
    app = create_app(settings, db=served, migrate=False)
    app.state.clock = clock
    client = TestClient(app)
    r = client.post("/auth/register", json={"email": "ada@example.com", "password": "correct horse"})
    assert r.status_code == 201, r.text
    token = client.post("/auth/login", json={"email": "ada@example.com", "password": "correct horse"}).json()
    headers = {"Authorization": f"Bearer {token['accessToken']}"}

    path = tmp_path / "applications.csv"
    lines = ["Company,Role,Status,Date Applied,Contact Name,Contact Email,Notes"]
    lines += [f"Co {i},Role {i},Applied,2026-02-{1 + i % 28:02d},P {i},p{i}@x.example,n {i}" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")

    statuses: list[int] = []
    done = threading.Event()

    def write_meanwhile() -> None:
        n = 0
        while not done.is_set():
            r = client.post("/jobs", headers=headers, json={"company": "Live", "role": f"Role {n}"})
            statuses.append(r.status_code)
            n += 1
            time.sleep(0.02)

    writer = threading.Thread(target=write_meanwhile)
    writer.start()
    try:
        started = time.monotonic()
        imported = subprocess.run(
            [FOLLOWUPS, "import", str(path), "--user", "ada@example.com", "--json"],
            env={**os.environ, "FOLLOWUPS_DATABASE_URL": settings.database_url},
            capture_output=True, text=True, timeout=300,
        )
        took = time.monotonic() - started
    finally:
        done.set()
        writer.join()
        served.dispose()
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["followupsScheduled"] == ROWS
    assert statuses and set(statuses) == {201}, f"{statuses.count(503)} of {len(statuses)} writes got 503"
    assert len(statuses) >= took / 0.5  # writes went on all along, none waited long
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == ROWS + len(statuses)
