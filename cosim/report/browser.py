"""A headless Chromium for report pages: the DOM after every image has loaded (what the report test checks)
and screenshots (the pictures of docs/). Debian packages ``chromium`` or ``chromium-headless-shell``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-headless-shell") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars")


def chromium(page: Path, profile: Path, *args: str) -> str:
    """Open ``page`` in a headless Chromium with its profile in ``profile`` (a scratch directory), with
    ``args`` (e.g. ``--dump-dom``, ``--screenshot=PATH``); returns its stdout."""
    if CHROMIUM is None:
        raise FileNotFoundError("no headless Chromium: install the Debian package chromium")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, Path(page).resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def screenshot(page: Path, png: Path, profile: Path, width: int = 1000, height: int = 1400) -> Path:
    """A ``width`` x ``height`` pixel screenshot of the top of ``page``."""
    chromium(page, profile, f"--screenshot={Path(png).resolve()}", f"--window-size={width},{height}",
             "--virtual-time-budget=10000")
    return Path(png)
