"""Finding the installed `followups` command of this environment."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

FOLLOWUPS = shutil.which("followups", path=str(Path(sys.executable).parent)) or "followups"
