"""GET /stats: reply rates per channel and attempt, and the adaptive delay they give."""

from __future__ import annotations

from fastapi import APIRouter

from followups.api.deps import CurrentUser, SessionDep
from followups.api.schemas import StatsOut, error_responses
from followups.stats import service as stats
from followups.stats import wording
from followups.stats.service import ADAPTIVE_MAX_DAYS, ADAPTIVE_MIN_DAYS

router = APIRouter(tags=["stats"], responses=error_responses(401, 503))


DESCRIPTION = f"""Reply rates over your outreach (deleted outreach excluded).

An answer is an outcome of POSITIVE, NEGATIVE or LATER. An answered outreach's
attempt number is how many of its follow-ups were sent before the answer (0: they
answered the first message). Per channel and attempt number n, `reached` counts the
outreach that got at least n follow-ups, `replies` those answered at attempt n.
Days to reply run from the last touch before the answer (the outreach or its last
follow-up) to the answer; an outreach recorded already answered counts as a reply but
has no known reply time, so it is left out of the medians. Rates and medians are null
when there is nothing to divide by.

`channels` lists only the channels you have outreach on, in the order LINKEDIN, EMAIL,
PHONE, OTHER; a channel without outreach is omitted.

`adaptive`: with `cadence.adaptive` on (`enabled`), the fixed delay between attempts is
replaced by your median days to reply, rounded and kept within {ADAPTIVE_MIN_DAYS} to
{ADAPTIVE_MAX_DAYS} days, once at least `minReplies` answers have a known reply time
(`delayDays` is null until then)."""


@router.get("/stats", response_model=StatsOut, description=DESCRIPTION)
def get_stats(user: CurrentUser, session: SessionDep) -> dict:
    return wording.as_wire(stats.reply_stats(session, user), enabled=user.cadence_adaptive)
