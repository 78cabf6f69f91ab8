"""Helpers for the staff page's browser tests: which Chromium to drive, staff accounts, screenshots."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from service_helpers import KLINIK, klinik_env

REPO = Path(__file__).resolve().parents[2]
# Every page is photographed here by the tests (git-ignored; docs/screenshots/ holds a few chosen ones).
SCREENSHOTS = Path(os.environ.get("KLINIK_SCREENSHOTS", REPO / "work" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # everything runs as root here and in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def chromium_executable() -> str | None:
    """Debian's chromium when installed (`make chromium` installs it where it can); None: Playwright's own build.

    Neither present makes the launch fail with Playwright's message: the browser tests are never skipped."""
    return os.environ.get("KLINIK_CHROMIUM") or shutil.which("chromium")


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)


def add_user(registry, tmp: Path, name: str, role: str, password: str, **extra: str) -> None:
    """`klinik users add NAME --role ROLE --password-stdin`, as a script would."""
    done = subprocess.run(
        [KLINIK, "users", "add", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        env=klinik_env(registry.tracking_uri, tmp, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def shoot(page, name: str) -> Path:
    """A full-page screenshot into SCREENSHOTS as NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
