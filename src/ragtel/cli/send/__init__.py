"""``ragtel send``: its arguments; the command itself is :mod:`ragtel.cli.send.command`.

This module stays light (``ragtel --help`` imports every command's package);
the command's module, and the network and protobuf code under it, load only
when ``ragtel send`` runs.
"""

from __future__ import annotations

import argparse

from ragtel.cli._arguments import add_file, positive_float, positive_int

SUMMARY = "replay a file to an OTLP collector"
DESCRIPTION = (
    "Send every span (and log record) of a file to an OTLP endpoint, ids and timestamps unchanged."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``ragtel send``'s arguments on ``parser``."""
    add_file(parser)
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="the collector, e.g. http://localhost:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    parser.add_argument(
        "--protocol",
        choices=("grpc", "http/protobuf", "http/json"),
        help="default: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a request header (repeatable); added to OTEL_EXPORTER_OTLP_HEADERS",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=512,
        metavar="N",
        help="spans or log records per request (default 512)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="per request, retries included (default 10)",
    )
    parser.add_argument(
        "--certificate",
        metavar="PEM",
        help="CA bundle for https (default: OTEL_EXPORTER_OTLP_CERTIFICATE)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (default: auto, when stderr is a terminal)",
    )
