"""Terminal colours: on for a terminal, off when piped, and as NO_COLOR and FORCE_COLOR say.

A handful of ANSI SGR codes is all the output needs; writing them directly
keeps ``ragtel view`` fast on 100,000 spans and free of dependencies.
"""

from __future__ import annotations

import os
from typing import IO, Final

_CODES: Final = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


class Style:
    """Wraps text in colour codes, or passes it through when colours are off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def style_for(choice: str, stream: IO[str]) -> Style:
    """``--color`` auto, always or never, for output written to ``stream``."""
    if choice == "always":
        return Style(True)
    if choice == "never":
        return Style(False)
    if os.environ.get("NO_COLOR"):  # https://no-color.org
        return Style(False)
    if os.environ.get("FORCE_COLOR"):
        return Style(True)
    isatty = getattr(stream, "isatty", None)
    return Style(bool(isatty and isatty()) and os.environ.get("TERM") != "dumb")
