"""Running the ``ragtel`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment without OTel or ragtel settings, so defaults apply."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "RAGTEL_")) and name not in ("NO_COLOR", "FORCE_COLOR")
    }
    env.update(extra)
    return env


def ragtel(*args: str | Path, cwd: Path | None = None, **env: str) -> Result:
    completed = subprocess.run(
        [sys.executable, "-m", "ragtel", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=cli_env(**env),
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)
