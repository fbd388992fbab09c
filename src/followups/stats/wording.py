"""Reply statistics in words and short figures: the page and the terminal say the same."""

from __future__ import annotations

from followups.stats.service import ADAPTIVE_MAX_DAYS, ADAPTIVE_MIN_DAYS, AdaptiveDelay, Rate, ReplyStats

DASH = "–"


def percent(rate: float | None) -> str:
    return DASH if rate is None else f"{rate * 100:.0f}%"


def days(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.1f} d"


def adaptive_sentence(adaptive: AdaptiveDelay, enabled: bool) -> str:
    """What adaptive delays do, whether they are on, and what they would use now."""
    what = (
        "Adaptive delays replace the fixed days between follow-up attempts with your own"
        f" median days to reply, rounded and kept within {ADAPTIVE_MIN_DAYS} to"
        f" {ADAPTIVE_MAX_DAYS} days."
    )
    state = "They are on." if enabled else "They are off."
    if adaptive.days is None:
        needed = adaptive.min_replies - adaptive.replies
        plural = "reply" if needed == 1 else "replies"
        now = (
            f"They need {needed} more {plural} with a known reply time"
            f" ({adaptive.replies} of {adaptive.min_replies}); until then the fixed delays apply."
        )
    else:
        unit = "day" if adaptive.days == 1 else "days"
        now = (
            f"Your median is {adaptive.median:.1f} days over {adaptive.replies} replies,"
            f" so the delay {'is' if enabled else 'would be'} {adaptive.days} {unit}."
        )
    return f"{what} {state} {now}"


def _rate_wire(rate: Rate) -> dict:
    return {
        "outreach": rate.reached,
        "replies": rate.replies,
        "replyRate": _rounded(rate.reply_rate, 4),
        "medianDaysToReply": _rounded(rate.median_days, 2),
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def as_wire(result: ReplyStats, *, enabled: bool) -> dict:
    """The JSON of GET /stats (and `followups stats --json`): camelCase, a rate rounded to
    4 decimals and days to 2."""
    return {
        "overall": _rate_wire(result.overall),
        "channels": [
            {
                "channel": c.channel.value,
                **_rate_wire(c.total),
                "attempts": [
                    {
                        "attemptNo": a.attempt_no,
                        "reached": a.reached,
                        "replies": a.replies,
                        "replyRate": _rounded(a.reply_rate, 4),
                        "medianDaysToReply": _rounded(a.median_days, 2),
                    }
                    for a in c.attempts
                ],
            }
            for c in result.channels
        ],
        "adaptive": {
            "enabled": enabled,
            "replies": result.adaptive.replies,
            "minReplies": result.adaptive.min_replies,
            "medianDaysToReply": _rounded(result.adaptive.median, 2),
            "delayDays": result.adaptive.days,
        },
    }
