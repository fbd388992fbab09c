"""Where a cadence-made follow-up lands once the user's rules have had their say.

One planner per use case and user. It reads what a rule needs (the last touch with a
person, the days a company is already taken, the user's median time to reply) only when
that rule is on, so a user without rules pays no query for them. It never writes: the
services apply what it says.

`BulkPlanner` runs the same rules over many outreach at once (the CSV import): what the
rules read is loaded once, in one query per rule, and kept up to date in memory as the
follow-ups it places take their days.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups import clock
from followups.chains import queries
from followups.models import REPLIES, AnyUser, Contact, FollowUp, FollowupType, Job, Outreach
from followups.stats.service import ADAPTIVE_MAX_DAYS, ADAPTIVE_MIN_DAYS, adaptive_delay


class Planner:
    def __init__(self, session: Session | None, user: AnyUser) -> None:
        self.session = session
        self.user = user
        self.tz = user.zone
        self.rules = user.rule_set

    @property
    def reads(self) -> bool:
        """Whether planning for this user reads their records (adaptive delays, a minimum
        gap, the company spread); if not, a Planner needs no session."""
        return bool(self.user.cadence_adaptive or self.rules.min_gap_days or self.rules.spread_by_company)

    @cached_property
    def cadence(self) -> cad.Cadence:
        """The user's cadence; with adaptive delays, their median time to reply instead of
        the fixed delays (each attempt, not the dormant check)."""
        cadence = self.user.cadence_with(self.rules)  # the rules parsed once per planner
        if not self.user.cadence_adaptive:
            return cadence
        adaptive = adaptive_delay(self.session, self.user)
        if adaptive.days is None:
            return replace(
                cadence,
                delay_note=(
                    f"fixed delay: adaptive delays need {adaptive.min_replies} replies with a"
                    f" known date, you have {adaptive.replies}"
                ),
            )
        note = (
            f"{adaptive.days} days: your median time to reply is {adaptive.median:.1f} days"
            f" over {adaptive.replies} replies"
        )
        if adaptive.days != math.floor(adaptive.median + 0.5):  # rounded half up, then clamped
            note += f", kept within {ADAPTIVE_MIN_DAYS} to {ADAPTIVE_MAX_DAYS} days"
        return replace(cadence, followup_delays_days=(adaptive.days,) * cadence.attempts, delay_note=note)

    def limits(
        self,
        *,
        job_id: uuid.UUID | None,
        contact_id: uuid.UUID | None,
        exclude: uuid.UUID | None = None,
    ) -> cad.Limits:
        """What the minimum gap and the company spread ask of a follow-up for this job and
        contact (`exclude`: the follow-up being moved, which does not block itself)."""
        gap = company = None
        if self.rules.min_gap_days and contact_id is not None:
            gap = self._last_touch(contact_id)
        if self.rules.spread_by_company:
            name = self._company(job_id, contact_id)
            if name:
                company = (name, self._busy_days(name, exclude))
        return self.limits_from(gap, company)

    def limits_from(
        self,
        last_touch: tuple[str, datetime | None] | None,
        company: tuple[str, frozenset] | None,
    ) -> cad.Limits:
        """The limits for what a caller has read already: the person's name and last touch
        (minimum gap), the company's name and its busy local days (company spread)."""
        limits = cad.NO_LIMITS
        if self.rules.min_gap_days and last_touch is not None and last_touch[1] is not None:
            name, last = last_touch
            gap = self.rules.min_gap_days
            limits = replace(
                limits,
                not_before=clock.add_days(last, gap, self.tz),
                not_before_why=(
                    f"at least {gap} day{'s' if gap != 1 else ''} after your last touch with"
                    f" {name} on {clock.instant_day_label(last, self.tz)}"
                ),
            )
        if self.rules.spread_by_company and company is not None:
            limits = replace(limits, busy_days=company[1], company=company[0])
        return limits

    def first_attempt(self, sent_at: datetime, *, job_id, contact_id) -> cad.Step:
        limits = self.limits(job_id=job_id, contact_id=contact_id)
        return cad.first_attempt(sent_at, self.tz, self.cadence, limits)

    def after_sent(
        self, *, job_id: uuid.UUID | None, contact_id: uuid.UUID | None, attempt_no: int, now: datetime
    ) -> cad.Step:
        """What follows attempt `attempt_no` of this job and contact, sent at `now`."""
        limits = self.limits(job_id=job_id, contact_id=contact_id)
        return cad.after_sent(attempt_no, now, self.tz, self.cadence, limits)

    def pushed_by_touch(
        self, contact_id: uuid.UUID | None, touch_at: datetime, *, keep_chain: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, datetime, str]]:
        """Minimum gap: the pending cadence-made follow-ups to this person that now fall too
        soon after a touch, with their new date and why (dates the user set stay)."""
        if not self.rules.min_gap_days or contact_id is None:
            return []
        floor = clock.add_days(touch_at, self.rules.min_gap_days, self.tz)
        stmt = select(
            FollowUp.id, FollowUp.attempt_no, FollowUp.due_at, FollowUp.job_id, FollowUp.contact_id
        ).where(
            FollowUp.user_id == self.user.id,
            FollowUp.contact_id == contact_id,
            queries.is_open(),
            FollowUp.due_set_by_user.is_(False),
            FollowUp.type != FollowupType.APPOINTMENT.value,
            FollowUp.due_at < floor,
        )
        if keep_chain is not None:
            stmt = stmt.where(FollowUp.chain_id != keep_chain)
        moves = []
        for fid, attempt_no, due_at, job_id, cid in self.session.execute(stmt).all():
            limits = self.limits(job_id=job_id, contact_id=cid, exclude=fid)
            due, moved = cad.settle(due_at, self.tz, self.cadence, limits)
            why = f"Attempt {attempt_no}: was due {clock.instant_day_label(due_at, self.tz)}{moved}"
            moves.append((fid, due, why))
        return moves

    # --- what the rules read -----------------------------------------------------------

    def _last_touch(self, contact_id: uuid.UUID) -> tuple[str, datetime | None]:
        """The person's name and the last time the user reached them: an outreach or a
        sent follow-up, whatever caused it."""
        uid = self.user.id
        last_outreach = (
            select(func.max(Outreach.sent_at))
            .where(Outreach.user_id == uid, Outreach.contact_id == contact_id, Outreach.deleted_at.is_(None))
            .scalar_subquery()
        )
        last_sent = (
            select(func.max(FollowUp.sent_at))
            .where(FollowUp.user_id == uid, FollowUp.contact_id == contact_id, FollowUp.sent_at.is_not(None))
            .scalar_subquery()
        )
        row = self.session.execute(
            select(Contact.name, last_outreach, last_sent).where(
                Contact.user_id == uid, Contact.id == contact_id
            )
        ).one_or_none()
        if row is None:
            return "", None
        touches = [t for t in (row[1], row[2]) if t is not None]
        return row[0], max(touches) if touches else None

    def _company(self, job_id, contact_id) -> str | None:
        if job_id is not None:
            stmt = select(Job.company).where(Job.user_id == self.user.id, Job.id == job_id)
        elif contact_id is not None:
            stmt = select(Contact.company).where(Contact.user_id == self.user.id, Contact.id == contact_id)
        else:
            return None
        company = self.session.scalar(stmt)
        return company.strip() if company and company.strip() else None

    def _busy_days(self, company: str, exclude: uuid.UUID | None) -> frozenset:
        """Local days of the open follow-ups for the same company (its job's company, or
        its contact's when it has no job), compared without case."""
        key = func.lower(func.trim(func.coalesce(Job.company, Contact.company)))
        stmt = queries.with_job_and_contact(select(FollowUp.due_at)).where(
            # Both sides lowered by the database: SQLite's lower() leaves non-ASCII as is.
            FollowUp.user_id == self.user.id, queries.is_open(), key == func.lower(company)
        )
        if exclude is not None:
            stmt = stmt.where(FollowUp.id != exclude)
        return frozenset(clock.local_date(d, self.tz) for d in self.session.scalars(stmt))


def company_key(name: str | None) -> str:
    """How the company spread compares companies: trimmed, without case."""
    return name.strip().lower() if name else ""


class BulkPlanner(Planner):
    """The planner for many outreach at once, recorded as if one by one in the order sent
    (the CSV import). What the rules read comes from the database once, merged with what
    the caller knows of records not yet written: the touches, replies, names and companies
    of the file. `first_attempt` is the one-by-one rule code; `placed` tells the planner a
    follow-up took its day (company spread); `settled` says a reply sent after an outreach
    settles its job (one reply settles the job), as recording the reply later would."""

    def __init__(
        self,
        session: Session,
        user: AnyUser,
        *,
        touches: Mapping[uuid.UUID, datetime],
        replies: Mapping[uuid.UUID, datetime],
        names: Mapping[uuid.UUID, str],
        job_companies: Mapping[uuid.UUID, str | None],
        contact_companies: Mapping[uuid.UUID, str | None],
    ) -> None:
        super().__init__(session, user)
        self.names = names
        self.job_companies = job_companies
        self.contact_companies = contact_companies
        self.replied = self._load_replies(replies) if self.rules.thread_by_job else {}
        self.touches = self._load_touches(touches) if self.rules.min_gap_days else {}
        self.busy = self._load_busy() if self.rules.spread_by_company else {}

    def settled(self, job_id: uuid.UUID | None, sent_at: datetime) -> bool:
        if job_id is None or not self.rules.thread_by_job:
            return False
        reply_at = self.replied.get(job_id)
        return reply_at is not None and reply_at >= sent_at

    def placed(self, due_at: datetime, *, job_id, contact_id) -> None:
        if self.rules.spread_by_company and (name := self._company(job_id, contact_id)):
            self.busy.setdefault(company_key(name), set()).add(clock.local_date(due_at, self.tz))

    # --- what the rules read, from memory ------------------------------------------------

    def _last_touch(self, contact_id: uuid.UUID) -> tuple[str, datetime | None]:
        return self.names.get(contact_id, ""), self.touches.get(contact_id)

    def _company(self, job_id, contact_id) -> str | None:
        if job_id is not None:
            company = self.job_companies.get(job_id)
        elif contact_id is not None:
            company = self.contact_companies.get(contact_id)
        else:
            return None
        return company.strip() if company and company.strip() else None

    def _busy_days(self, company: str, exclude: uuid.UUID | None) -> frozenset:
        return frozenset(self.busy.get(company_key(company), ()))

    # --- loaded once ---------------------------------------------------------------------

    def _load_replies(self, known: Mapping[uuid.UUID, datetime]) -> dict[uuid.UUID, datetime]:
        """The latest reply per job: the caller's, and the user's already recorded."""
        replied = dict(known)
        for jid, at in self.session.execute(
            select(Outreach.job_id, func.max(Outreach.sent_at))
            .where(
                Outreach.user_id == self.user.id,
                Outreach.deleted_at.is_(None),
                Outreach.job_id.is_not(None),
                Outreach.outcome.in_([o.value for o in REPLIES]),
            )
            .group_by(Outreach.job_id)
        ):
            replied[jid] = max(at, replied.get(jid, at))
        return replied

    def _load_touches(self, known: Mapping[uuid.UUID, datetime]) -> dict[uuid.UUID, datetime]:
        """The last touch per person (an outreach or a sent follow-up, as `_last_touch`):
        the caller's, and the user's already recorded."""
        sources = [known.items()]
        for model, alive in (
            (Outreach, Outreach.deleted_at.is_(None)),
            (FollowUp, FollowUp.sent_at.is_not(None)),
        ):
            sources.append(
                self.session.execute(
                    select(model.contact_id, func.max(model.sent_at))
                    .where(model.user_id == self.user.id, model.contact_id.is_not(None), alive)
                    .group_by(model.contact_id)
                )
            )
        last: dict[uuid.UUID, datetime] = {}
        for cid, at in itertools.chain(*sources):
            last[cid] = max(at, last.get(cid, at))
        return last

    def _load_busy(self) -> dict[str, set[date]]:
        """The local days of the open follow-ups per company (as `_busy_days`)."""
        busy: dict[str, set[date]] = {}
        stmt = queries.with_job_and_contact(select(FollowUp.due_at, Job.company, Contact.company))
        for due_at, job_company, contact_company in self.session.execute(
            stmt.where(FollowUp.user_id == self.user.id, queries.is_open())
        ):
            key = company_key(job_company if job_company is not None else contact_company)
            if key:
                busy.setdefault(key, set()).add(clock.local_date(due_at, self.tz))
        return busy
