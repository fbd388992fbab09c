"""The jobs and contacts pages share one view: what each kind shows of its own survives it."""

from __future__ import annotations

import re

from .test_web_pages import record


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed, as a reader sees them."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_each_kind_shows_its_own_facts_lists_and_forms(web):
    web.register()
    # A job with two open follow-ups (two outreach), the second with a new contact.
    record(web, new_contact="Grace Hopper", new_contact_email="grace@example.com")
    acme = re.search(r'href="/app/jobs/([0-9a-f-]+)">Acme', web.client.get("/app/jobs").text)[1]
    record(web, new_company="", new_role="", job_id=acme, new_contact="Linus")
    r = web.post("/app/jobs", {"company": "Initech", "role": "SRE", "url": "http://initech.example/j"})
    initech = r.headers["location"]

    jobs = _text(web.client.get("/app/jobs").text)
    assert "Acme Backend engineer Applied next follow-up Sun 8 Mar, 15:00 2 open" in jobs
    assert "Initech SRE Applied no open follow-up" in jobs
    assert "Set stage" in jobs and "Add a job" in jobs
    # A job's posting is a link when it is http(s); a contact's LinkedIn only when https.
    assert '<a href="http://initech.example/j" rel="noopener noreferrer">posting</a>' in web.client.get(initech).text

    contacts = _text(web.client.get("/app/contacts").text)
    # A contact's line has its email and never counts its open follow-ups.
    # Added inline on the record form, each keeps the job's company.
    assert "Grace Hopper Acme grace@example.com next follow-up Sun 8 Mar, 15:00 Archive contact" in contacts
    assert "Linus Acme next follow-up Sun 8 Mar, 15:00 Archive contact" in contacts
    assert "Set stage" not in contacts and "Add a contact" in contacts
    grace = re.search(r'href="(/app/contacts/[0-9a-f-]+)">Grace Hopper', web.client.get("/app/contacts").text)[1]
    r = web.post(grace, {"name": "Grace Hopper", "linkedin_url": "http://linkedin.example/in/grace"})
    assert r.status_code == 303
    page = web.client.get(grace).text
    assert "http://linkedin.example" not in _text(page) and 'href="http://linkedin.example' not in page
    assert "Edit contact" in page and "Rejected or Dormant" not in page
    assert "Rejected or Dormant cancels the job's open follow-ups" in web.client.get(initech).text

    # Archived: no add form, no stage menu, an unarchive button, each kind's own empty line.
    assert "No archived jobs." in web.client.get("/app/jobs?archived=1").text
    assert "No archived contacts." in web.client.get("/app/contacts?archived=1").text
    web.post(f"{initech}/archive", {"archived": "1"})
    web.post(f"{grace}/archive", {"archived": "1"})
    archived_jobs = _text(web.client.get("/app/jobs?archived=1").text)
    assert "Initech SRE Applied no open follow-up Unarchive job" in archived_jobs
    assert "Add a job" not in archived_jobs and "Set stage" not in archived_jobs
    archived_contacts = _text(web.client.get("/app/contacts?archived=1").text)
    assert "Grace Hopper" in archived_contacts and "Unarchive contact" in archived_contacts
    assert "Add a contact" not in archived_contacts
