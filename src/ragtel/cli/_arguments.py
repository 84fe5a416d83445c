"""Arguments that several commands share, and the value types that check them.

Light on purpose: ``ragtel --help`` builds every command's parser, so this
module imports nothing beyond ``argparse`` and the ``re`` it loads anyway.
"""

from __future__ import annotations

import argparse
import re
from typing import Final

DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""Longer lines are skipped unread. ragtel writes one batch per line: 1,024 spans
with 16 KB values come to some 35 MB of JSON, well under this. Here rather than
in :mod:`ragtel.cli._jsonl`, which reads the lines: ``ragtel --help`` needs the
default without the cost of importing the reader."""


def add_file(parser: argparse.ArgumentParser) -> None:
    """The traces file to read (positional, optional) and the longest line to accept."""
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="an OTLP JSON Lines file (default: RAGTEL_TRACES_FILE or ./ragtel-traces.jsonl)",
    )
    parser.add_argument(
        "--max-line-size",
        type=byte_size,
        default=DEFAULT_MAX_LINE_BYTES,
        metavar="SIZE",
        help="skip (and report) lines longer than SIZE bytes; K, M and G suffixes "
        "count in KiB, MiB and GiB (default 64M)",
    )


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The trace filters ``view`` and ``report`` share: ids, parameter values, a time window."""
    parser.add_argument(
        "--trace-id", action="append", metavar="ID", help="a trace id or its prefix (repeatable)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="traces whose ParamSet has this value (repeatable; all must match)",
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="traces that started at or after TIME: ISO 8601 (2026-11-21T09:30) "
        "or an age such as 30m, 2h, 7d",
    )
    parser.add_argument("--until", metavar="TIME", help="traces that started before TIME")


def add_color(parser: argparse.ArgumentParser) -> None:
    """``--color``, for the commands that write to a terminal."""
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colours: auto (a terminal, unless NO_COLOR is set), always or never",
    )


def positive_int(text: str) -> int:
    """An argument type: a whole number above zero."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argument type: a whole number, zero or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def byte_size(text: str) -> int:
    """An argument type: a positive size in bytes, with an optional K, M or G suffix (binary)."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive size in bytes such as 67108864, 64M or 1G; got {text!r}"
        )
    return int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]


def positive_float(text: str) -> float:
    """An argument type: a finite number of seconds above zero."""
    import math  # a shared library to load: only when --timeout is given

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
