"""`followups webhook`: where each notification is POSTed (PATCH /me's `webhook`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from followups import outbound
from followups.api.schemas import WebhookIn, WebhookOut
from followups.commands.common import JsonOption, UserOption, database, fail, handled, pick_user, print_json, say
from followups.users import service as users

webhook_app = typer.Typer(no_args_is_help=True, help="The webhook each notification is POSTed to.")


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")


@webhook_app.command("set")
@handled
def set_webhook(
    url: Annotated[str, typer.Argument(help="The receiver's http:// or https:// URL.")],
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the shared secret from the first line of stdin.")
    ] = False,
    user: UserOption = None,
) -> None:
    """Each notification is POSTed to URL as signed JSON (HMAC-SHA256 with the shared secret,
    16 to 200 characters). The URL must reach a public address (see the README)."""
    secret = sys.stdin.readline().rstrip("\r\n") if secret_stdin else typer.prompt("Shared secret", hide_input=True)
    try:
        hook = WebhookIn.model_validate({"url": url, "secret": secret})
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"webhook.{first['loc'][0]}: {first['msg'].removeprefix('Value error, ')}")
    with database() as db:
        # Resolved before the write transaction: a DNS wait must not hold SQLite's one
        # write lock (users.service.check_webhook).
        checked = users.check_webhook(hook.url, hook.secret, outbound.policy(db.settings))
        with db.transaction() as session:
            users.set_webhook(session, pick_user(session, user), checked)
    say(f"Webhook saved: notifications are POSTed to {hook.url}")


@webhook_app.command("show")
@handled
def show(user: UserOption = None, as_json: JsonOption = False) -> None:
    """The webhook's URL (the secret is never shown)."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        hook = WebhookOut(url=me.webhook_url) if me.webhook_url else None
    if as_json:
        print_json(hook.model_dump(by_alias=True) if hook else None)
    else:
        say(f"Webhook: {hook.url}" if hook else "No webhook.")


@webhook_app.command("remove")
@handled
def remove(user: UserOption = None) -> None:
    """Stop POSTing notifications."""
    with database() as db, db.transaction() as session:
        users.remove_webhook(session, pick_user(session, user))
    say("Webhook removed.")
