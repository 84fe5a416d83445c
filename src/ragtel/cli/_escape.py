"""Text from a file, made safe to print on a terminal.

A trace file is input like any other: a crafted one could hold escape
sequences that set the window title (OSC 0/2), write the clipboard (OSC 52),
plant hyperlinks (OSC 8), move the cursor or clear the screen, or bidi
overrides that make text read differently from what it is (Trojan Source).
Every such character is shown as a visible escape instead, the way Python's
``repr`` spells it: ``\\x1b``, ``\\n``, ``\\u202e``.

Escaped: C0 controls (tab and newline too, since every field is shown on one
line), DEL, C1 controls (U+0080 to U+009F, which some terminals obey like
ESC sequences), the bidi embeddings, overrides and isolates (U+202A to
U+202E, U+2066 to U+2069) and lone surrogates, which no output encoding can
write. Backslashes are left as they are, so Windows paths and regular
expressions read naturally. The escaped text holds only printable
characters, so escaping twice changes nothing.
"""

from __future__ import annotations

import re
import sys
from typing import Final


def _escapes() -> dict[int, str]:
    table = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
    table.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xD800, 0xE000)):
        table[code] = f"\\u{code:04x}"
    return table


_ESCAPES: Final = _escapes()
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return _ESCAPES[ord(match.group())]


def terminal_safe(text: str) -> str:
    """``text`` with every character that could command a terminal shown as an escape."""
    # isprintable() is False for each unsafe character, so it settles most text at C speed.
    if text.isprintable():
        return text
    return _UNSAFE.sub(_escape, text)


def say(message: str) -> None:
    """Print a message for the user on stderr, escaped: messages may quote the file."""
    print(terminal_safe(message), file=sys.stderr, flush=True)
