"""The input limits are one set: what the page lets you type is what the API accepts."""

from __future__ import annotations

import re

from followups import input_limits
from helpers import job


def test_the_record_form_allows_what_the_api_accepts(web, api):
    web.register()
    page = web.client.get("/app/record").text
    note = re.search(r'<textarea id="f-note" name="note"[^>]*maxlength="(\d+)"', page).group(1)
    resume = re.search(r'name="resume_on"[^>]*maxlength="(\d+)"', page).group(1)
    assert (int(note), int(resume)) == (input_limits.NOTE_MAX, input_limits.RESUME_MAX)
    ada = api.signup("limits@example.com", "UTC")
    j = job(api, ada)
    longest = "n" * input_limits.NOTE_MAX
    body = {"jobId": j["id"], "channel": "EMAIL", "note": longest}
    assert api.call("POST", "/outreach", ada, 201, json=body).json()["note"] == longest
    api.call("POST", "/outreach", ada, 422, json={**body, "note": longest + "n"})
