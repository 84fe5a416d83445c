"""``ragtel view``: its arguments; the command itself is :mod:`ragtel.cli.view.command`.

This module stays light (``ragtel --help`` imports every command's package);
the command's module loads only when ``ragtel view`` runs.
"""

from __future__ import annotations

import argparse

from ragtel.cli._arguments import add_color, add_file, add_filters, non_negative_int

SUMMARY = "show traces as trees"
DESCRIPTION = "Show the traces of an OTLP JSON Lines file as trees, oldest first."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``ragtel view``'s arguments on ``parser``."""
    add_file(parser)
    add_filters(parser)
    parser.add_argument("--name", metavar="PATTERN", help="traces with a span of this name (glob)")
    parser.add_argument(
        "--errors", action="store_true", help="only traces with a span whose status is ERROR"
    )
    parser.add_argument(
        "--limit",
        type=non_negative_int,
        default=50,
        metavar="N",
        help="show the N most recent matching traces (default 50; 0 shows all)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per trace")
    add_color(parser)
