"""The ``ragtel`` command: view, report, send and demo over OTLP JSON Lines files.

``main`` parses the arguments and hands them to the command's module, which
is imported only then: ``ragtel view`` never loads gRPC, and ``import ragtel``
never loads this package.

Exit statuses: 0 success; 1 done, but corrupt lines were skipped or batches
rejected; 2 nothing done (bad arguments, a missing file, a file that is not
OTLP JSON).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ragtel.cli._errors import EXIT_USAGE, CliError

__all__ = ["main"]

# Each command's module, relative to this package.
_COMMANDS = {
    "view": ".view.command",
    "report": ".report.command",
    "send": ".send.command",
    "demo": ".demo.command",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ragtel`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        module = importlib.import_module(_COMMANDS[args.command], __name__)
        status: int = module.run(args)
    except CliError as error:
        from ragtel.cli._escape import say

        say(f"ragtel: {error}")  # a message may quote the file or the user's input
        return error.status
    except KeyboardInterrupt:
        print("ragtel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `ragtel view | head`: the reader left; stop quietly like other Unix tools.
        _silence_stdout()
        return 0
    return status


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def _parser() -> argparse.ArgumentParser:
    from ragtel._version import __version__

    parser = argparse.ArgumentParser(
        prog="ragtel",
        description="Read, summarise and replay ragtel's OTLP JSON Lines trace files.",
        epilog="Exit status: 0 success, 1 corrupt lines skipped or batches rejected, "
        "2 bad arguments or unreadable input.",
    )
    parser.add_argument("--version", action="version", version=f"ragtel {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    view = commands.add_parser(
        "view",
        help="show traces as trees",
        description="Show the traces of an OTLP JSON Lines file as trees, oldest first.",
    )
    _add_file(view)
    _add_filters(view)
    view.add_argument("--name", metavar="PATTERN", help="traces with a span of this name (glob)")
    view.add_argument(
        "--errors", action="store_true", help="only traces with a span whose status is ERROR"
    )
    view.add_argument(
        "--limit",
        type=_non_negative_int,
        default=50,
        metavar="N",
        help="show the N most recent matching traces (default 50; 0 shows all)",
    )
    view.add_argument("--json", action="store_true", help="one JSON object per trace")
    _add_color(view)

    report = commands.add_parser(
        "report",
        help="compare traces grouped by parameter values",
        description="Group traces by ParamSet values and compare latency, errors and feedback.",
    )
    _add_file(report)
    report.add_argument(
        "--by",
        action="append",
        required=True,
        metavar="PARAM",
        help="a ParamSet key to group by (repeatable); a unique last part such as "
        "chunk_size stands for ingestion.chunk_size",
    )
    _add_filters(report)
    report.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="default: table"
    )
    _add_color(report)

    send = commands.add_parser(
        "send",
        help="replay a file to an OTLP collector",
        description="Send every span (and log record) of a file to an OTLP endpoint, "
        "ids and timestamps unchanged.",
    )
    _add_file(send)
    send.add_argument(
        "--endpoint",
        metavar="URL",
        help="the collector, e.g. http://localhost:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    send.add_argument(
        "--protocol",
        choices=("grpc", "http/protobuf", "http/json"),
        help="default: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf",
    )
    send.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a request header (repeatable); added to OTEL_EXPORTER_OTLP_HEADERS",
    )
    send.add_argument(
        "--batch-size",
        type=_positive_int,
        default=512,
        metavar="N",
        help="spans or log records per request (default 512)",
    )
    send.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="per request, retries included (default 10)",
    )
    send.add_argument(
        "--certificate",
        metavar="PEM",
        help="CA bundle for https (default: OTEL_EXPORTER_OTLP_CERTIFICATE)",
    )
    send.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (default: auto, when stderr is a terminal)",
    )

    demo = commands.add_parser(
        "demo",
        help="run an offline, instrumented RAG pipeline",
        description="Run a small RAG pipeline over a bundled corpus, sweeping chunk size "
        "and top_k, with simulated feedback; then print the commands to explore it.",
    )
    demo.add_argument(
        "--output",
        metavar="FILE",
        help="the traces file (default: RAGTEL_TRACES_FILE or ./ragtel-traces.jsonl)",
    )
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated users (default 7)")
    return parser


def _add_file(parser: argparse.ArgumentParser) -> None:
    from ragtel.cli._jsonl import DEFAULT_MAX_LINE_BYTES

    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="an OTLP JSON Lines file (default: RAGTEL_TRACES_FILE or ./ragtel-traces.jsonl)",
    )
    parser.add_argument(
        "--max-line-size",
        type=_byte_size,
        default=DEFAULT_MAX_LINE_BYTES,
        metavar="SIZE",
        help="skip (and report) lines longer than SIZE bytes; K, M and G suffixes "
        "count in KiB, MiB and GiB (default 64M)",
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
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


def _add_color(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colours: auto (a terminal, unless NO_COLOR is set), always or never",
    )


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _byte_size(text: str) -> int:
    import re

    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive size in bytes such as 67108864, 64M or 1G; got {text!r}"
        )
    return int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
