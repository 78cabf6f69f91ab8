"""Running the ``klinik`` console command as a person does, for tests: a fresh process from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_klinik(*args, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """``klinik ARGS`` with the environment plus ``env``; KLINIK_LANGUAGE only when given (English otherwise)."""
    inherited = {k: v for k, v in os.environ.items() if k != "KLINIK_LANGUAGE"}
    return subprocess.run(
        [sys.executable, "-m", "klinik.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**inherited, **env},
    )
