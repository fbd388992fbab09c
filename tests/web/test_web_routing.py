"""The page route class: a page that fails after writing leaves nothing behind."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.responses import HTMLResponse

from followups.errors import Conflict
from followups.models import Job
from followups.web.deps import AnonPage
from followups.web.routing import Rendered, WebRoute


def test_a_page_that_fails_after_writing_rolls_back(app, db, api, ada):
    """FastAPI ends the request's transaction after the route handler returns, and
    WebRoute has turned the failure into an answer by then: it must still roll back."""
    user_id = uuid.UUID(api.call("GET", "/me", ada, 200).json()["id"])
    router = APIRouter(route_class=WebRoute)

    def write_a_job(ctx) -> None:
        ctx.session.add(
            Job(user_id=user_id, company="Half", role="Written", created_at=ctx.now, updated_at=ctx.now)
        )
        ctx.session.flush()

    @router.get("/test-only/rendered")
    def rendered(ctx: AnonPage):
        write_a_job(ctx)
        raise Rendered(HTMLResponse("a form with its errors", status_code=422))

    @router.get("/test-only/conflict")
    def conflict(ctx: AnonPage):
        write_a_job(ctx)
        raise Conflict("It changed.")

    @router.get("/test-only/fine")
    def fine(ctx: AnonPage):
        write_a_job(ctx)
        return HTMLResponse("ok")

    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/test-only/rendered").status_code == 422
        assert client.get("/test-only/conflict").status_code == 409
        assert client.get("/test-only/fine").status_code == 200
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
