"""What a connected mailbox is, once its password is decrypted: shared by the sync and the sends.

Pure data: loading it (and decrypting the password) is followups.mailbox.service's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Security = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class Account:
    imap: Server
    smtp: Server
    username: str
    password: str = field(repr=False)  # decrypted: never logged, never answered
    address: str  # the user's own From address
    inbox: str = "INBOX"
    sent: str = "Sent"
