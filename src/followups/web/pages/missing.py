"""Any other address under /app/: a page saying so (the API's JSON 404 is for API clients)."""

from __future__ import annotations

from fastapi import APIRouter

from followups.errors import NotFound
from followups.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)


@router.api_route("/app/{rest:path}", methods=["GET", "POST"])
def missing(rest: str):
    raise NotFound(f"There is no page at /app/{rest}.")
