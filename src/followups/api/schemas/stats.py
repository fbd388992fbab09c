"""Stats: reply rates per channel and attempt, and the adaptive delay they give (GET /stats)."""

from __future__ import annotations

from followups.api.schemas.fields import Wire
from followups.models import Channel


class TotalsOut(Wire):
    outreach: int
    replies: int
    reply_rate: float | None
    median_days_to_reply: float | None


class AttemptOut(Wire):
    attempt_no: int
    reached: int
    replies: int
    reply_rate: float | None
    median_days_to_reply: float | None


class ChannelOut(TotalsOut):
    channel: Channel
    attempts: list[AttemptOut]


class AdaptiveOut(Wire):
    enabled: bool
    replies: int
    min_replies: int
    median_days_to_reply: float | None
    delay_days: int | None


class StatsOut(Wire):
    overall: TotalsOut
    channels: list[ChannelOut]
    adaptive: AdaptiveOut
