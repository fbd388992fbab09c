"""Sign in, registration, sign out, and `/` (which finds the right one)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from fastapi import APIRouter, Request

from followups import clock
from followups.api.limits import client_address
from followups.errors import Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized
from followups.users import service as users
from followups.web import forms
from followups.web.deps import AnonPage, Page, Posted, SigningIn
from followups.web.render import render
from followups.web.routing import Rendered, WebRoute, local_path, redirect
from followups.web.security import SESSION_COOKIE, clear_session_cookie, set_session_cookie

router = APIRouter(route_class=WebRoute)
HOME = "/app/today"


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    return sorted(name for name in available_timezones() if clock.is_valid_timezone(name))


def _start(request: Request, ctx) -> str:
    if ctx.user is not None:
        return HOME
    return "/app/login" if users.any_user(ctx.session) else "/app/register"


@router.get("/")
def root(request: Request, ctx: AnonPage):
    return redirect(request, _start(request, ctx))


@router.get("/app")
@router.get("/app/")
def app_root(request: Request, ctx: AnonPage):
    return redirect(request, _start(request, ctx))


def _signed_in(request: Request, token: str, target: str):
    response = redirect(request, target)
    set_session_cookie(response, request, token, request.app.state.settings.token_ttl_days * 86400)
    return response


@router.get("/app/login")
def login_page(request: Request, ctx: AnonPage, next: str = ""):  # noqa: A002
    if ctx.user is not None:
        return redirect(request, local_path(next, HOME))
    return render(
        ctx,
        "login.html",
        title="Sign in",
        next=local_path(next, ""),
        values={},
        errors={},
        first_start=not users.any_user(ctx.session),
    )


@router.post("/app/login")
def login(request: Request, ctx: SigningIn, form: Posted):
    target = local_path(form.get("next"), HOME)
    parsed, errors = forms.parse(forms.LoginForm, forms.values(form, "email", "password"))
    status, headers = 422, {}
    if parsed is not None:
        try:
            # The API's sign-in, failed-sign-in limits included: the page is no way around them.
            token = request.app.state.login_limiter.sign_in(
                request.app.state.db, email=parsed.email, password=parsed.password,
                address=client_address(request), now=ctx.now,
                ttl_days=request.app.state.settings.token_ttl_days,
            )
            return _signed_in(request, token, target)
        except Unauthorized as exc:
            errors, status = {"form": exc.detail}, 401
        except TooManyRequests as exc:
            errors, status = {"form": exc.detail}, 429
            headers = {"Retry-After": str(exc.retry_after_s)}
    response = render(
        ctx,
        "login.html",
        status,
        title="Sign in",
        next=form.get("next"),
        values={"email": form.get("email")},
        errors=errors,
        first_start=False,
    )
    response.headers.update(headers)
    raise Rendered(response)


@router.get("/app/register")
def register_page(request: Request, ctx: AnonPage):
    if ctx.user is not None:
        return redirect(request, HOME)
    return render(
        ctx,
        "register.html",
        title="Create your account",
        zones=zone_names(),
        values={"timezone": "UTC"},
        errors={},
        first_start=not users.any_user(ctx.session),
        closed=not users.registration_open(ctx.session, request.app.state.settings.registration_mode),
    )


@router.post("/app/register")
def register(request: Request, ctx: AnonPage, form: Posted):
    data = forms.values(form, "email", "password", "timezone")
    parsed, errors = forms.parse(forms.RegisterForm, data)
    if parsed is not None and form.get("password") != form.get("password_again"):
        errors["password_again"] = "The two passwords differ."
    if parsed is not None and not errors:
        try:
            users.sign_up(
                ctx.session,
                email=parsed.email,
                password=parsed.password,
                timezone=parsed.timezone,
                now=ctx.now,
                registration=request.app.state.settings.registration_mode,
            )
            token = users.login(ctx.session, email=parsed.email, password=parsed.password, now=ctx.now,
                                ttl_days=request.app.state.settings.token_ttl_days)
            return _signed_in(request, token, HOME)
        except Conflict as exc:
            errors["email"] = exc.detail
        except Forbidden as exc:
            errors["form"] = exc.detail
        except Invalid as exc:
            errors.update(
                {f.field: f.message[:1].upper() + f.message[1:] + "." for f in exc.fields}
            )
    raise Rendered(
        render(
            ctx,
            "register.html",
            403 if "form" in errors else 409 if "exists" in errors.get("email", "") else 422,
            title="Create your account",
            zones=zone_names(),
            values={"email": form.get("email"), "timezone": form.get("timezone") or "UTC"},
            errors=errors,
            first_start=not users.any_user(ctx.session),
            closed="form" in errors,
        )
    )


@router.post("/app/logout")
def logout(request: Request, ctx: Page):
    users.logout(ctx.session, request.cookies[SESSION_COOKIE], ctx.now)
    response = redirect(request, "/app/login")
    clear_session_cookie(response, request)
    return response
