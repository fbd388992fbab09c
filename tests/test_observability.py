"""Request ids, JSON log lines with request and user ids, metrics and readiness."""

from __future__ import annotations

import json
import logging

from followups.observability import ContextFilter, configure_logging


def test_ready_and_metrics(api, ada):
    assert api.client.get("/ready").json() == {"status": "ready"}
    job = api.call("POST", "/jobs", ada, 201, json={"company": "A", "role": "B"}).json()
    api.call("POST", "/followups", ada, 201, json={"jobId": job["id"], "dueAt": "2026-03-01T09:00:00Z"})
    api.call("GET", f"/jobs/{job['id']}", ada, 200)
    text = api.client.get("/metrics").text
    assert 'followups_request_seconds_count{method="GET",route="/jobs/{job_id}",status="200"} 1.0' in text
    assert "followups_sweep_lag_seconds" in text
    assert "followups_notifications_pending 0.0" in text and "followups_deliveries_dead 0.0" in text


def test_request_id_comes_back_and_a_sane_incoming_one_is_kept(api):
    r = api.client.get("/health")
    assert len(r.headers["x-request-id"]) == 32
    assert api.client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert api.client.get("/health", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def test_log_lines_carry_request_and_user_ids_and_no_token(api, caplog):
    headers = api.signup("logs@example.com")
    caplog.set_level(logging.INFO, logger="followups.access")
    caplog.handler.addFilter(ContextFilter())
    me = api.client.get("/me", headers={**headers, "X-Request-ID": "req-1"})
    [line] = [r for r in caplog.records if r.name == "followups.access" and r.request_id == "req-1"]
    assert line.user_id == me.json()["id"] and line.route == "/me" and line.status == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    assert token not in caplog.text


def test_a_send_done_in_the_writer_pool_is_logged_with_its_user(api, caplog):
    """Mark-sent signs in on a thread of the app's writer pool (api.deps.WriteUnit.run), in a
    copy of the request's context: the access line still names the user and the request."""
    headers = api.signup("sender@example.com")
    job = api.call("POST", "/jobs", headers, 201, json={"company": "A", "role": "B"}).json()
    fu = api.call("POST", "/followups", headers, 201, json={"jobId": job["id"], "dueAt": "2026-03-01T09:00:00Z"}).json()
    caplog.set_level(logging.INFO, logger="followups.access")
    caplog.handler.addFilter(ContextFilter())
    sent = api.client.patch(f"/followups/{fu['id']}/send", headers={**headers, "X-Request-ID": "send-1"})
    assert sent.status_code == 200 and sent.headers["x-request-id"] == "send-1"
    [line] = [r for r in caplog.records if r.name == "followups.access" and r.request_id == "send-1"]
    me = api.call("GET", "/me", headers, 200).json()
    assert line.user_id == me["id"] and line.route == "/followups/{followup_id}/send" and line.status == 200


def test_configure_logging_writes_json_lines(capsys):
    configure_logging()
    logging.getLogger("followups.test").info("hello", extra={"route": "/x"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "hello" and line["level"] == "INFO" and line["route"] == "/x"
    assert "request_id" in line
    logging.getLogger().handlers[:] = []
