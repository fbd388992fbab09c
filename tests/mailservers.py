"""A real Dovecot (Debian's dovecot-imapd) and an aiosmtpd SMTP server with AUTH, started by
the tests on free loopback ports with throwaway configurations; and the message corpus,
built with the standard library's email package."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from imapclient import IMAPClient

from servers import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "app-password-1"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_login_user = {login_user}
default_internal_user = {login_user}
first_valid_uid = 1
mail_max_userip_connections = 100
mail_fsync = never
# The worker keeps its IMAP sessions (mailbox.imap.Pool): many tests, many open sessions.
default_process_limit = 1000
default_client_limit = 2000
# A wrong password is answered at once, every time (no penalty for the tests' many logins).
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  mailbox {sent} {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Archive {{
    auto = subscribe
  }}
}}
"""


@dataclass
class Dovecot:
    """Its own directory under the system's temporary one (pytest's are private to the user
    running the tests, which the mail processes, as nobody under root, cannot enter)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="followups-dovecot-")))
    port: int = 0
    sent: str = "Sent"
    users: list[str] = field(default_factory=list)
    # A login for tests that need just one (every name logs in with PASSWORD: a static passdb).
    user: str = "ada@example.com"
    password: str = PASSWORD

    def start(self) -> Dovecot:
        # Mail processes never run as root: as root, the mail and login processes use nobody.
        if os.getuid() == 0:
            owner = pwd.getpwnam("nobody")
            self.root.chmod(0o755)
        else:
            owner = pwd.getpwuid(os.getuid())
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", owner.pw_uid, owner.pw_gid)
        self.port = free_port()
        (self.root / "dovecot.conf").write_text(CONFIG.format(
            root=self.root, port=self.port, uid=owner.pw_uid, gid=owner.pw_gid, login_user=owner.pw_name,
            sent=self.sent, password=PASSWORD,
        ))
        subprocess.run([DOVECOT, "-c", str(self.root / "dovecot.conf")], check=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                IMAPClient("127.0.0.1", self.port, ssl=False, timeout=1).logout()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError((self.root / "dovecot.log").read_text()) from None
                time.sleep(0.05)

    def add_user(self, name: str) -> str:
        """Every user has the password PASSWORD (a static passdb): a new name is a new mailbox."""
        self.users.append(name)
        return name

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, folder: str, messages: list[bytes]) -> None:
        client = self.client(user)
        try:
            for raw in messages:
                client.append(folder, raw)
        finally:
            client.logout()

    def stop(self) -> None:
        pid = (self.root / "run" / "master.pid").read_text().strip()
        subprocess.run(["kill", pid], check=False)
        deadline = time.monotonic() + 10
        while (self.root / "run" / "master.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


class _Accept:
    async def handle_DATA(self, _server, _session, _envelope):  # noqa: N802
        return "250 OK"


def _authenticator(_server, _session, _envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@dataclass
class SmtpWithAuth:
    port: int = 0

    def start(self) -> SmtpWithAuth:
        self.port = free_port()
        self._controller = Controller(
            _Accept(), hostname="127.0.0.1", port=self.port, authenticator=_authenticator,
            auth_require_tls=False,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
