"""Reply statistics and the adaptive delay, from one statement per question.

Per non-deleted outreach the statement works out its channel, whether it was answered,
how many STANDARD follow-ups were sent before the answer (all sent ones when there is no
answer or its time is unknown) and the days from the last touch to the answer; then it
groups alike outreach, so only timed answers come back one row each. Rates and medians
are counted here over those narrow rows; no ORM object is made per outreach.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Float, Select, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from followups.models import ANSWERS, AnyUser, Channel, FollowUp, FollowupType, Outreach, User

ADAPTIVE_MIN_REPLIES = 5
ADAPTIVE_MIN_DAYS = 2
ADAPTIVE_MAX_DAYS = 10
_ANSWERS = sorted(a.value for a in ANSWERS)


@dataclass(frozen=True)
class AdaptiveDelay:
    """The user's own delay: `days` is None until `replies` (with a known reply time)
    reaches `min_replies`; the median is in days."""

    days: int | None
    median: float | None
    replies: int
    min_replies: int


@dataclass(frozen=True)
class Rate:
    """`reached` outreach, `replies` of them answered; the median over known reply times."""

    reached: int
    replies: int
    reply_rate: float | None
    median_days: float | None


@dataclass(frozen=True)
class AttemptRate(Rate):
    # 0: answered the first message; n: answered after n follow-ups were sent.
    attempt_no: int = 0


@dataclass(frozen=True)
class ChannelStats:
    channel: Channel
    total: Rate
    attempts: tuple[AttemptRate, ...]


@dataclass(frozen=True)
class ReplyStats:
    overall: Rate
    # Only channels the user has outreach on, in Channel order.
    channels: tuple[ChannelStats, ...]
    adaptive: AdaptiveDelay


@dataclass(frozen=True)
class _Row:
    """`count` outreach of one channel alike in attempts, answer and days to reply."""

    channel: str
    # Follow-ups sent before the answer (all sent ones: no answer, or its time unknown).
    attempts: int
    answered: bool
    # Days from the last touch to the answer; None when not answered or the time is unknown.
    days: float | None
    count: int


class days_between(FunctionElement):  # noqa: N801 - named as the SQL function it stands for
    """(later - earlier) in days, as a float, on both backends."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


def _statement(user_id: uuid.UUID, *, timed_answers_only: bool = False) -> Select:
    o, f = Outreach, FollowUp
    counted = and_(
        f.outreach_id == o.id,
        f.user_id == user_id,
        f.type == FollowupType.STANDARD.value,
        f.sent_at.is_not(None),
        # Only attempts made before the answer count toward it (the same instant counts).
        or_(o.replied_at.is_(None), o.outcome.not_in(_ANSWERS), f.sent_at <= o.replied_at),
    )
    answered = o.outcome.in_(_ANSWERS)
    last_attempt = func.max(f.sent_at)
    last_touch = case((last_attempt > o.sent_at, last_attempt), else_=o.sent_at)
    timed = and_(answered, o.replied_at.is_not(None))
    per_outreach = (
        select(
            o.channel.label("channel"),
            func.count(f.id).label("attempts"),
            case((answered, 1), else_=0).label("answered"),
            case((timed, days_between(o.replied_at, last_touch))).label("days"),
        )
        .outerjoin(f, counted)
        .where(o.user_id == user_id, o.deleted_at.is_(None))
        .group_by(o.id, o.channel, o.outcome, o.sent_at, o.replied_at)
    )
    if timed_answers_only:
        per_outreach = per_outreach.where(timed)
    alike = per_outreach.subquery()
    keys = (alike.c.channel, alike.c.attempts, alike.c.answered, alike.c.days)
    return select(*keys, func.count()).group_by(*keys)


def _rows(session: Session, user_id: uuid.UUID, **kw) -> list[_Row]:
    return [
        # Rounded to a tenth of a second's worth: julianday arithmetic is not exact. An
        # answer recorded before the outreach's own (user-given) sent_at counts as instant.
        _Row(channel, attempts, bool(answered), None if days is None else max(0.0, round(days, 6)), count)
        for channel, attempts, answered, days, count in session.execute(_statement(user_id, **kw))
    ]


def _known_days(rows: Iterable[_Row]) -> list[float]:
    return [r.days for r in rows if r.days is not None for _ in range(r.count)]


def _rate(rows: Sequence[_Row], answered: Sequence[_Row]) -> Rate:
    reached = sum(r.count for r in rows)
    replies = sum(r.count for r in answered)
    days = _known_days(answered)
    return Rate(
        reached=reached,
        replies=replies,
        reply_rate=replies / reached if reached else None,
        median_days=statistics.median(days) if days else None,
    )


def _total(rows: Sequence[_Row]) -> Rate:
    return _rate(rows, [r for r in rows if r.answered])


def _by_attempt(rows: Sequence[_Row]) -> tuple[AttemptRate, ...]:
    top = max((r.attempts for r in rows), default=0)
    out = []
    for n in range(top + 1):
        rate = _rate(
            [r for r in rows if r.attempts >= n], [r for r in rows if r.answered and r.attempts == n]
        )
        out.append(AttemptRate(**vars(rate), attempt_no=n))
    return tuple(out)


def _adaptive(rows: Iterable[_Row]) -> AdaptiveDelay:
    known = _known_days(rows)
    median = statistics.median(known) if known else None
    chosen = None
    if median is not None and len(known) >= ADAPTIVE_MIN_REPLIES:
        # Half up (2.5 -> 3), not Python's half-to-even, then kept within 2..10 days.
        chosen = min(ADAPTIVE_MAX_DAYS, max(ADAPTIVE_MIN_DAYS, math.floor(median + 0.5)))
    return AdaptiveDelay(days=chosen, median=median, replies=len(known), min_replies=ADAPTIVE_MIN_REPLIES)


def reply_stats(session: Session, user: User) -> ReplyStats:
    rows = _rows(session, user.id)
    per_channel: dict[str, list[_Row]] = {}
    for row in rows:
        per_channel.setdefault(row.channel, []).append(row)
    channels = tuple(
        ChannelStats(channel=c, total=_total(per_channel[c.value]), attempts=_by_attempt(per_channel[c.value]))
        for c in Channel
        if c.value in per_channel
    )
    return ReplyStats(overall=_total(rows), channels=channels, adaptive=_adaptive(rows))


def adaptive_delay(session: Session, user: AnyUser) -> AdaptiveDelay:
    """The user's median days from the last touch to an answer, as a follow-up delay:
    one statement over the answered outreach with a known reply time only."""
    return _adaptive(_rows(session, user.id, timed_answers_only=True))
