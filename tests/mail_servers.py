"""A real IMAP server for the mailbox tests: Debian's Dovecot, started by the tests on a
loopback port with a throwaway configuration (plain-text login, no TLS) and one user in a
password file. Messages live in Maildir folders under a temporary directory."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
{identity}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
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
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dovecot:
    user: str = "ada@example.com"
    password: str = "app-password-1"
    port: int = 0
    root: Path | None = None

    def start(self) -> Dovecot:
        self.root = Path(tempfile.mkdtemp(prefix="followups-dovecot-"))
        os.chmod(self.root, 0o755)  # the login processes run as another user when we are root
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        (self.root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        self.port = _free_port()
        me = pwd.getpwuid(os.getuid())
        # Dovecot never keeps mail as root: then its own user (made by the package) owns it.
        owner = pwd.getpwnam("dovecot") if os.getuid() == 0 else me
        for sub in ("mail", "home"):
            os.chown(self.root / sub, owner.pw_uid, owner.pw_gid)
        # As root, Dovecot's own unprivileged users (made by the package) run its helpers;
        # as anyone else, that user runs them all.
        identity = "" if os.getuid() == 0 else (
            f"default_internal_user = {me.pw_name}\ndefault_login_user = {me.pw_name}\n"
            f"default_internal_group = {me.pw_name}\n"
        )
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, uid=owner.pw_uid, gid=owner.pw_gid,
                                        identity=identity))
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Dovecot did not start: {self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log" if self.root else None
        return path.read_text()[-2000:] if path and path.exists() else ""

    def stop(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
