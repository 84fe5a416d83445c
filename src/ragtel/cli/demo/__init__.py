"""``ragtel demo``: its arguments; the command itself is :mod:`ragtel.cli.demo.command`.

This module stays light (``ragtel --help`` imports every command's package);
the command's module, and the tracing SDK it runs, load only when
``ragtel demo`` runs.
"""

from __future__ import annotations

import argparse

SUMMARY = "run an offline, instrumented RAG pipeline"
DESCRIPTION = (
    "Run a small RAG pipeline over a bundled corpus, sweeping chunk size and top_k, "
    "with simulated feedback; then print the commands to explore it."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``ragtel demo``'s arguments on ``parser``."""
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="the traces file (default: RAGTEL_TRACES_FILE or ./ragtel-traces.jsonl)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the simulated users (default 7)"
    )
