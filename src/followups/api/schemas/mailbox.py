"""Wire shapes of the connected mailbox (PUT/GET /me/mailbox). The password goes in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from followups.api.schemas.fields import PLAIN, Email, Wire, _no_control, whole_number
from followups.mailbox.account import Account, Server

Host = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.\-:\[\]]+$"),
    Field(examples=["imap.fastmail.com"]),
]
Port = whole_number(1, 65535)
Security = Literal["ssl", "starttls", "none"]
FolderName = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_control), PLAIN]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024), AfterValidator(_no_control), PLAIN]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                AfterValidator(_no_control), PLAIN]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320),
                     AfterValidator(_no_control), PLAIN]


class MailboxIn(Wire):
    """`security`: "ssl" (implicit TLS: IMAP 993, SMTP 465), "starttls" (SMTP 587, IMAP 143)
    or "none" (a local bridge or test server). Without `sentFolder`, the folder the server
    marks \\Sent (SPECIAL-USE) is used. `address` (your own address) defaults to the
    username when it is one."""

    imap_host: Host
    imap_port: Port = 993
    imap_security: Security = "ssl"
    smtp_host: Host
    smtp_port: Port = 587
    smtp_security: Security = "starttls"
    username: Username
    password: Annotated[Secret, Field(description="An app password; stored encrypted, never returned.")]
    address: Email | None = None
    inbox_folder: FolderName = "INBOX"
    sent_folder: FolderName | None = None
    create_contacts: bool = Field(False, description=(
        "Opt-in: a message in the sent folder to an address that is no contact, with a Bcc to "
        "followups@… (any domain, or your own address+followups) or `contactTag` in its subject, "
        "creates the contact (named from To) and records the outreach."))
    contact_tag: Tag | None = Field(None, description="A word in a sent subject that creates the contact.")

    def account(self, fallback_address: str) -> Account:
        return Account(
            imap=Server(self.imap_host, self.imap_port, self.imap_security),
            smtp=Server(self.smtp_host, self.smtp_port, self.smtp_security),
            username=self.username,
            password=self.password,
            address=self.address or (self.username if "@" in self.username else fallback_address),
            inbox=self.inbox_folder,
            sent=self.sent_folder or "",
        )


class MailboxOut(Wire):
    imap_host: str
    imap_port: int
    imap_security: Security
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    username: str
    address: str
    inbox_folder: str
    sent_folder: str
    create_contacts: bool
    contact_tag: str | None
    # pending (not synced yet), ok, or error (lastError says why; it retries with backoff).
    status: Literal["pending", "ok", "error"]
    last_error: str | None
    last_sync_at: datetime | None = Field(description="The last sync that succeeded.")
    next_sync_at: datetime
    connected_at: datetime
