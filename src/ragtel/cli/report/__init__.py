"""``ragtel report``: its arguments; the command itself is :mod:`ragtel.cli.report.command`.

This module stays light (``ragtel --help`` imports every command's package);
the command's module loads only when ``ragtel report`` runs.
"""

from __future__ import annotations

import argparse

from ragtel.cli._arguments import add_color, add_file, add_filters

SUMMARY = "compare traces grouped by parameter values"
DESCRIPTION = "Group traces by ParamSet values and compare latency, errors and feedback."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``ragtel report``'s arguments on ``parser``."""
    add_file(parser)
    parser.add_argument(
        "--by",
        action="append",
        required=True,
        metavar="PARAM",
        help="a ParamSet key to group by (repeatable); a unique last part such as "
        "chunk_size stands for ingestion.chunk_size",
    )
    add_filters(parser)
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="default: table"
    )
    add_color(parser)
