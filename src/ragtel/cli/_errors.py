"""Exit statuses and the one error type commands raise to stop with a message."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_PARTIAL: Final = 1
"""The command finished, but skipped corrupt lines or had batches rejected."""
EXIT_USAGE: Final = 2
"""Nothing useful was done: bad arguments, a missing file, a file that is not OTLP JSON."""


class CliError(Exception):
    """Stops a command: ``main`` prints ``ragtel: <message>`` and exits with ``status``."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def shorten(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: one-line messages stay one line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
