"""Where the project is: the one place tests and benchmarks find app.py."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # tests/support/ -> the project folder
APP = str(ROOT / "app.py")  # the router: every page is reached through it
