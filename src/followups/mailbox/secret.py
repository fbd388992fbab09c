"""The server's key for the stored mailbox passwords (Fernet, from the `cryptography` package).

The key is FOLLOWUPS_SECRET_KEY (any text: a Fernet key is used as it is, other text is
hashed into one), or a key file made with mode 0600 on first start. Exports and backups
never carry the key: a copied database alone reveals no password.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from platformdirs import user_data_dir
from sqlalchemy.engine import make_url

from followups.config import Settings

KEY_FILE_NAME = "followups-secret.key"
_lock = threading.Lock()


class KeyMismatch(Exception):
    """A stored password that this server's key cannot decrypt (the key changed or was lost)."""


def key_file(settings: Settings) -> Path:
    if settings.secret_key_file:
        return Path(settings.secret_key_file).expanduser()
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            return Path(database).expanduser().parent / KEY_FILE_NAME
    return Path(user_data_dir("followups")) / KEY_FILE_NAME


def _from_text(text: str) -> bytes:
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _file_key(path: Path) -> bytes:
    with _lock:
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        try:  # created with 0600 from the start: never readable by others, not even briefly
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")
        return key


class Cipher:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def of(cls, settings: Settings) -> Cipher:
        """The server's cipher; makes the key file on first start when no key is set."""
        if settings.secret_key:
            return cls(_from_text(settings.secret_key))
        return cls(_file_key(key_file(settings)))

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise KeyMismatch(
                "the stored password cannot be decrypted with this server's key "
                "(FOLLOWUPS_SECRET_KEY or the key file changed): connect the mailbox again"
            ) from None


_configured: Cipher | None = None


def configure(settings: Settings) -> Cipher:
    """Make this process's cipher from its settings (the app, the worker and the CLI do at
    start: the key file is made then)."""
    global _configured
    _configured = Cipher.of(settings)
    return _configured


def cipher() -> Cipher:
    """This process's cipher (`configure`d, else from the environment's settings)."""
    return _configured or configure(Settings())
