"""A realistic sample for a new user: a few dozen jobs, contacts and outreach over the last
three weeks, made through the same services as the API, so every bucket (overdue,
today, upcoming) has something in it at once and the history (sent attempts, replies,
closed jobs, a dormant check) looks lived in.

The sample is fixed by a seed and placed relative to `now` in the user's zone: attempt 1
falls due `delay` days after an outreach, so outreach sent exactly `delay` local days
ago is due today, older is overdue, newer is upcoming.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followups import clock
from followups.chains import queries
from followups.chains.service import create_followup, mark_sent
from followups.contacts.service import create_contact
from followups.jobs.service import create_job, update_job
from followups.models import (
    Channel,
    Contact,
    FollowupType,
    Job,
    Outcome,
    Outreach,
    Stage,
    User,
)
from followups.outreach.service import record_outreach, update_outreach

COMPANIES = [
    "Acme Analytics",
    "Bluebird Robotics",
    "Cobalt Health",
    "Driftwood Games",
    "Evergreen Energy",
    "Fjord Logistics",
    "Granite Bank",
    "Harbor Labs",
    "Ionic Materials",
    "Juniper Travel",
    "Kestrel Security",
    "Lumen Media",
    "Meridian Maps",
    "Nimbus Cloud",
    "Orchid Foods",
    "Pinecone Data",
    "Quartz Payments",
    "Redwood Legal",
    "Saffron Retail",
    "Tidewater Freight",
    "Umber Studios",
    "Vantage Insurance",
    "Willow Education",
    "Xylem Water",
    "Yarrow Pharma",
    "Zephyr Aviation",
    "Atlas Mobility",
    "Beacon Civic",
    "Cedar Biotech",
    "Delta Climate",
]
ROLES = [
    "Backend engineer",
    "Senior Python developer",
    "Platform engineer",
    "Data engineer",
    "Site reliability engineer",
    "Full-stack developer",
    "Engineering manager",
    "Staff engineer",
    "Machine learning engineer",
    "DevOps engineer",
]
PEOPLE = [
    "Ada Park",
    "Ben Okafor",
    "Chloe Martin",
    "Diego Alvarez",
    "Elif Demir",
    "Farah Khan",
    "Gustav Berg",
    "Hana Sato",
    "Ivan Petrov",
    "Julia Rossi",
    "Kofi Mensah",
    "Lena Fischer",
    "Mateo Silva",
    "Nina Kowalski",
    "Omar Haddad",
    "Priya Nair",
    "Quinn Taylor",
    "Rosa Jimenez",
    "Sam Cohen",
    "Tara Walsh",
]
NOTES = [
    "Applied via the careers page",
    "Referral from a former colleague",
    "Sent a short intro and CV",
    "Asked about the team's stack",
    "Met at the meetup last week",
    None,
    None,
]
SEED = 20260305


@dataclass
class DemoSummary:
    jobs: int
    contacts: int
    outreach: int
    counts: dict[str, int]


def has_data(session: Session, user: User) -> bool:
    return any(
        session.scalar(select(func.count()).select_from(model).where(model.user_id == user.id))
        for model in (Job, Contact, Outreach)
    )


def fill(session: Session, user: User, *, now: datetime) -> DemoSummary:
    rng = random.Random(SEED)
    tz = user.zone
    delay = user.cadence.followup_delays_days[0]
    today = clock.local_date(now, tz)

    def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
        return clock.at_local_time(today - timedelta(days=days_ago), hour, minute, tz)

    def past(instant: datetime) -> datetime:
        return min(instant, now)

    jobs = []
    for n, company in enumerate(COMPANIES):
        role = ROLES[n % len(ROLES)]
        created = local(22 - (n % 20), 8, rng.randrange(0, 60))
        slug = company.split()[0].lower()
        jobs.append(
            create_job(
                session,
                user,
                company=company,
                role=role,
                url=f"https://jobs.{slug}.example/{n + 101}",
                stage=Stage.APPLIED,
                now=past(created),
            )
        )
    contacts = []
    for n, name in enumerate(PEOPLE):
        job = jobs[n]
        first, last = name.lower().split()
        contacts.append(
            create_contact(
                session,
                user,
                fields={
                    "name": name,
                    "email": f"{first}.{last}@{job.company.split()[0].lower()}.example",
                    "company": job.company,
                    "linkedin_url": None,
                },
                now=past(local(22 - n % 20, 8)),
            )
        )

    # (days ago, local hour): delay days ago is due today; older overdue; newer upcoming.
    plan = [
        *[(delay, h) for h in (8, 11, 15, 17)],
        *[(delay + d, rng.choice((9, 10, 14, 16))) for d in (1, 2, 4, 6, 9, 12, 15, 18)],
        *[(d, rng.choice((9, 13, 16))) for d in range(max(delay - 1, 0), -1, -1)],
        *[(rng.randrange(0, 21), rng.choice((9, 11, 14, 17))) for _ in range(16)],
    ]
    outreach = []
    for n, (days_ago, hour) in enumerate(plan):
        sent_at = past(local(days_ago, hour, rng.choice((0, 15, 30, 45))))
        job = jobs[n % len(jobs)]
        contact = contacts[n % len(contacts)] if n % 3 != 2 else None
        recorded = record_outreach(
            session,
            user,
            job=job.id,
            contact=contact.id if contact else None,
            channel=rng.choice(list(Channel)),
            sent_at=sent_at,
            note=rng.choice(NOTES),
            outcome=Outcome.NONE,
            create_followup=True,
            now=sent_at,
        )
        outreach.append((recorded.outreach, recorded.followup, job))

    # Some history: a chain moved on, a reply, closed jobs, a dormant check.
    sent_twice = False
    for _made, followup, _job in outreach[8:12]:
        if followup is not None and followup.due_at < now:
            nxt = mark_sent(
                session, user, followup.id, note="Nudged politely", now=followup.due_at
            ).next_attempt
            if nxt is not None and nxt.due_at < now and not sent_twice:
                # The last attempt sent: a dormant check falls due later.
                mark_sent(session, user, nxt.id, note=None, now=nxt.due_at)
                sent_twice = True
    for made, _followup, _job in outreach[20:23]:
        replied = past(made.sent_at + timedelta(days=1))
        update_outreach(session, user, made.id, changes={"outcome": Outcome.POSITIVE}, now=replied)
    # "Not now": a recruiter asked to be contacted again next week.
    made = outreach[23][0]
    update_outreach(
        session, user, made.id, changes={"outcome": Outcome.LATER, "resume_on": "next week"},
        now=past(made.sent_at + timedelta(days=1)),
    )
    for made, _followup, job in outreach[24:26]:
        closed = past(made.sent_at + timedelta(days=2))
        update_job(session, user, job.id, changes={"stage": Stage.REJECTED}, now=closed)
    for job, stage in zip(
        jobs[26:30], (Stage.HR, Stage.TECH, Stage.OFFER, Stage.DORMANT), strict=True
    ):
        update_job(session, user, job.id, changes={"stage": stage}, now=now)
    create_followup(
        session,
        user,
        job_id=str(jobs[27].id),
        contact_id=None,
        due_at=clock.at_local_time(today + timedelta(days=2), 14, 0, tz),
        note="Technical interview (video call)",
        type=FollowupType.APPOINTMENT,
        now=now,
    )

    counts = session.execute(queries.bucket_counts(user.id, now, tz)).one()._asdict()
    if not counts["today"]:  # e.g. weekends skipped and today is a Saturday
        create_followup(
            session,
            user,
            job_id=str(jobs[0].id),
            contact_id=None,
            due_at=clock.at_local_time(today, 12, 0, tz),
            note="Check the application portal",
            type=FollowupType.STANDARD,
            now=now,
        )
        counts = session.execute(queries.bucket_counts(user.id, now, tz)).one()._asdict()
    return DemoSummary(len(jobs), len(contacts), len(outreach), counts)
