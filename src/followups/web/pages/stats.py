"""Reply statistics: per channel and attempt, and what adaptive delays would use."""

from __future__ import annotations

from fastapi import APIRouter

from followups.stats import service as stats
from followups.stats import wording
from followups.web import views
from followups.web.deps import Page
from followups.web.render import render
from followups.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)


@router.get("/app/stats")
def stats_page(ctx: Page):
    result = stats.reply_stats(ctx.session, ctx.user)
    return render(
        ctx,
        "stats.html",
        title="Reply rates",
        stats=result,
        channel_names=views.CHANNELS,
        percent=wording.percent,
        days=wording.days,
        adaptive_sentence=wording.adaptive_sentence(result.adaptive, ctx.user.cadence_adaptive),
        adaptive_on=ctx.user.cadence_adaptive,
    )
