"""No webhook to internal addresses: the URL's host is resolved when it is saved (API,
command line, and pages: that test is in tests/web/test_web_pages.py) and again at each delivery, and
loopback, private, link-local, multicast, unspecified and reserved addresses, in any
spelling, are refused unless FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE allows private networks
(link-local and the odd forms stay refused even then)."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, update

from followups.config import Settings
from followups.delivery.errors import DeliveryError
from followups.delivery.webhook import post_webhook
from followups.models import Delivery, User
from followups.outbound import Policy
from followups.worker import Worker
from helpers import followup, job
from servers import WebhookReceiver
from test_cli_verbs import Cli

SECRET = "s" * 32
NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)

REFUSED = [
    ("http://127.1/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001/hook", "loopback"),
    ("http://0177.0.0.1/hook", "not usable"),  # octal: the HTTP client would not take it either
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "IPv4 address written as IPv6"),
    ("http://[::ffff:10.0.0.1]/hook", "IPv4 address written as IPv6"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # the cloud's metadata
    ("http://[fe80::1]/hook", "link-local"),
    ("http://10.0.0.1/hook", "private"),
    ("http://10.255.255.254/hook", "private"),
    ("http://192.168.1.10/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://172.31.255.255/hook", "private"),
    ("http://[fd00::1]/hook", "private"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("https://localhost/hook", "loopback"),  # a name that resolves to loopback
    ("http://LocalHost:9000/hook", "loopback"),
]


def save(api, headers, url: str):
    return api.client.patch("/me", headers=headers, json={"webhook": {"url": url, "secret": SECRET}})


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_an_internal_address_in_any_spelling_is_refused_with_422_naming_the_field(api, ada, url, why):
    r = save(api, ada, url)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["fields"][0]["field"] == "webhook.url"
    assert body["detail"].startswith("webhook.url: ") and why in body["detail"]
    assert why == "not usable" or "public addresses only" in body["detail"]
    assert api.call("GET", "/me", ada, 200).json()["webhook"] is None


def test_a_public_address_or_a_name_not_resolvable_yet_is_saved(api, ada):
    for url in ("https://93.184.215.14/hook", "https://hooks.example.invalid/x?token=1"):
        assert save(api, ada, url).status_code == 200
        assert api.call("GET", "/me", ada, 200).json()["webhook"]["url"] == url


def test_a_refused_webhook_changes_nothing_else_of_the_patch(api, ada):
    r = api.client.patch("/me", headers=ada, json={"timezone": "Europe/Berlin",
                                                   "webhook": {"url": "http://10.1.2.3/", "secret": SECRET}})
    assert r.status_code == 422
    assert api.call("GET", "/me", ada, 200).json()["timezone"] == "UTC"


def test_the_setting_allows_private_networks_but_not_link_local(app, api, ada):
    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private": True})
    for url in ("http://127.1/hook", "http://localhost:8080/hook", "http://192.168.1.10/hook", "http://[::1]/x"):
        assert save(api, ada, url).status_code == 200, url
    for url in ("http://169.254.169.254/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/"):
        r = save(api, ada, url)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "webhook.url", url
        assert "FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE" not in r.json()["detail"]


def test_no_other_write_waits_while_a_saved_webhook_name_resolves(ada, live_url, held_lookup):
    """The name is resolved with no transaction open: on SQLite a write transaction holds the
    database's one write lock, and a slow resolver made every other writer wait (a 503 after
    the busy timeout)."""
    url = f"https://{held_lookup.host}/hook"
    with httpx.Client(base_url=live_url, headers=ada, timeout=60) as client, ThreadPoolExecutor(1) as pool:
        saving = pool.submit(client.patch, "/me", json={"webhook": {"url": url, "secret": SECRET}})
        try:  # a failure lets the lookup go, or the pool's exit would wait for it
            assert held_lookup.looking_up.wait(30), "the save never looked the name up"
            started = time.monotonic()
            other = client.post("/jobs", json={"company": "Acme", "role": "Backend engineer"})
            took = time.monotonic() - started
            assert other.status_code == 201, f"{other.status_code} after {took:.2f} s: {other.text}"
            assert not saving.done(), f"the save ended before the other write ({took:.2f} s)"
        finally:
            held_lookup.answer.set()
        assert saving.result().status_code == 200, saving.result().text
        assert client.get("/me").json()["webhook"]["url"] == url


# At each delivery: a URL saved before this check (or under the setting, since turned off),
# or a name whose DNS answer changed, is a failed attempt with the reason, never a crash.

def post(url: str, policy: Policy) -> None:
    asyncio.run(post_webhook(url, SECRET, {"id": "n1"}, delivery_id="d-1", now=NOW, timeout_s=2, deadline_s=5,
                             policy=policy))


def test_delivery_refuses_a_name_resolving_to_loopback_and_retries_later():
    with_receiver = WebhookReceiver().start()
    try:
        port = with_receiver.url.split(":")[2].split("/")[0]
        with pytest.raises(DeliveryError) as caught:
            post(f"http://localhost:{port}/hook", Policy())
        assert "webhook address refused: localhost resolves to 127.0.0.1, a loopback address" in str(caught.value)
        assert caught.value.permanent is False  # a name: its answer may change back
        with pytest.raises(DeliveryError) as caught:
            post(with_receiver.url, Policy())
        assert caught.value.permanent is True  # the URL names the address itself
        assert with_receiver.received == []

        # Allowed, the connection goes to the address checked; Host still names the URL's host.
        post(f"http://localhost:{port}/hook", Policy(allow_private=True))
        assert [r.headers["host"] for r in with_receiver.received] == [f"localhost:{port}"]
    finally:
        with_receiver.stop()


def test_the_worker_records_a_refused_address_as_a_failed_delivery(api, ada, db, clock):
    receiver = WebhookReceiver().start()
    try:
        with db.transaction() as s:  # as saved before the check existed
            s.execute(update(User).where(User.email == "ada@example.com")
                      .values(webhook_url=receiver.url, webhook_secret=SECRET))
        followup(api, ada, "2026-03-05T09:00:00Z", jobId=job(api, ada)["id"])
        worker = Worker(db, Settings(database_url=db.settings.database_url), clock=clock)
        worker.tick()
        with db.transaction(write=False) as s:
            (delivery,) = s.scalars(select(Delivery)).all()
        assert delivery.delivered_at is None and delivery.dead_at is not None
        assert delivery.last_error.startswith("webhook address refused: 127.0.0.1 is a loopback address")
        assert receiver.received == []
        assert isinstance(delivery.id, uuid.UUID)
    finally:
        receiver.stop()


def test_the_command_line_refuses_an_internal_address_naming_the_field(db):
    cli = Cli(db.settings.database_url)
    cli.add_user()
    line = cli.fails("webhook", "set", "http://0x7f000001/hook", "--secret-stdin", input=f"{SECRET}\n")
    assert line.startswith("error: webhook.url: 0x7f000001 is 127.0.0.1, a loopback address")
    assert cli.json("webhook", "show") is None
    assert cli.fails("webhook", "set", "ftp://x/", "--secret-stdin", input=f"{SECRET}\n").startswith(
        "error: webhook.url: must be an http:// or https:// URL")

    # Allowed by the setting (a receiver at home), then removed.
    cli("webhook", "set", "http://127.0.0.1:9000/hook", "--secret-stdin", input=f"{SECRET}\n",
        env={"FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE": "true"})
    assert cli.json("webhook", "show") == {"url": "http://127.0.0.1:9000/hook", "hasSecret": True}
    cli("webhook", "remove")
    assert cli("webhook", "show").stdout.strip() == "No webhook."


def test_the_setting_is_named_only_where_it_would_allow_the_address(api, ada):
    private = save(api, ada, "http://10.1.2.3/hook").json()["detail"]
    assert "10.1.2.3 is a private address" in private and "FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE=true" in private
    metadata = save(api, ada, "http://169.254.169.254/").json()["detail"]
    assert "169.254.169.254 is a link-local address" in metadata and "FOLLOWUPS_WEBHOOK_ALLOW_PRIVATE" not in metadata
