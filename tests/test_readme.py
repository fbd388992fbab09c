"""The README a new user starts from: its quick start and its links."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import typer

from followups.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
QUICK_START = README.split("\n## ", 1)[0]


def test_every_link_of_the_readme_is_a_file_of_the_repository():
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link and not link.startswith("mailto:")]
    assert local, "the README links no file at all"
    assert [link for link in local if link not in tracked] == []


def test_the_quick_start_says_what_make_run_starts_and_shows_the_demo():
    assert "make run PORT=" in QUICK_START
    assert "`make run` starts" in QUICK_START
    assert "followups demo" in QUICK_START
    assert "3.11, 3.12, 3.13 or 3.14" in QUICK_START


def test_the_quick_start_commands_exist():
    root = typer.main.get_command(app)
    blocks = re.findall(r"```sh\n(.*?)```", QUICK_START, re.DOTALL)
    used = [shlex.split(line.split("#", 1)[0]) for block in blocks for line in block.splitlines()]
    verbs = [words[1] for words in used if words and words[0].endswith("followups") and len(words) > 1]
    assert "demo" in verbs
    for verb in verbs:
        assert verb.startswith("--") or verb in root.commands, verb
