"""The default user the terminal verbs act for, per database (`followups user use EMAIL`).

Kept in the user's config folder (`default-users.json`, keyed by the database address
without its password), never in the database: it is this shell user's choice, not data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from platformdirs import user_config_dir
from sqlalchemy.engine import make_url

FILE = "default-users.json"


def _path() -> Path:
    return Path(user_config_dir("followups")) / FILE


def _key(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)  # as given, if already hidden


def _read() -> dict[str, str]:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def default_user(database_url: str) -> str | None:
    email = _read().get(_key(database_url))
    return email if isinstance(email, str) else None


def remember(database_url: str, email: str | None) -> None:
    """Set (or, None, forget) the default user of that database; written whole or not at all."""
    data = _read()
    if email is None:
        data.pop(_key(database_url), None)
    else:
        data[_key(database_url)] = email
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)
