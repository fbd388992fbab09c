"""Python 3.11 through 3.14: what the package admits and which interpreter `make` picks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_admits_python_3_11_to_3_14():
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert [v for v in ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15") if v in spec] == [
        "3.11", "3.12", "3.13", "3.14"]


def _interpreter(folder: Path, name: str, version: tuple[int, int] | None) -> None:
    """A `python3.X` on the PATH that answers the Makefile's version check as that version
    would (or, None, a real interpreter: this one)."""
    path = folder / name
    if version is None:
        path.symlink_to(sys.executable)
        return
    pretend = f"import sys; sys.version_info = {version!r}; exec(sys.argv[1])"
    path.write_text(f"#!/bin/sh\nexec {sys.executable} -c '{pretend}' \"$2\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _picked(tmp_path: Path, interpreters: dict[str, tuple[int, int] | None], target: str = "which"
            ) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, version in interpreters.items():
        _interpreter(bin_dir, name, version)
    # Only the interpreters of bin_dir are on the PATH (not the machine's own).
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("PYTHON", None)
    return subprocess.run(["/usr/bin/make", "-s", "-f", str(ROOT / "Makefile"), "--eval", "which: ; @echo $(PYTHON);",
                           target], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_make_picks_the_newest_supported_python(tmp_path):
    done = _picked(tmp_path, {"python3.11": None, "python3.13": (3, 13), "python3.12": (3, 12)})
    assert done.stdout.splitlines()[0] == "python3.13"


def test_make_skips_a_python3_that_is_too_old_and_says_what_is_needed(tmp_path):
    done = _picked(tmp_path, {"python3": (3, 9)}, ".venv/bin/python")
    assert done.returncode != 0
    assert "followups needs Python 3.11, 3.12, 3.13 or 3.14" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_make_takes_python3_when_it_is_recent_enough(tmp_path):
    done = _picked(tmp_path, {"python3": (3, 12)})
    assert done.stdout.splitlines()[0] == "python3"
