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
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

from ragtel.cli._errors import EXIT_USAGE, CliError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ragtel`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status = _RUNNERS[args.command](args)
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


# Each command's code is imported only when that command runs: `ragtel view`
# never loads gRPC, and `ragtel --help` loads no command at all.


def _run_view(args: argparse.Namespace) -> int:
    from ragtel.cli.view.command import run

    return run(args)


def _run_report(args: argparse.Namespace) -> int:
    from ragtel.cli.report.command import run

    return run(args)


def _run_send(args: argparse.Namespace) -> int:
    from ragtel.cli.send.command import run

    return run(args)


def _run_demo(args: argparse.Namespace) -> int:
    from ragtel.cli.demo.command import run

    return run(args)


_RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "view": _run_view,
    "report": _run_report,
    "send": _run_send,
    "demo": _run_demo,
}


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

    # Each command's package declares its arguments and stays light; the command's own
    # module loads only when it runs (see ``main``).
    from ragtel.cli import demo, report, send, view

    parser = argparse.ArgumentParser(
        prog="ragtel",
        description="Read, summarise and replay ragtel's OTLP JSON Lines trace files.",
        epilog="Exit status: 0 success, 1 corrupt lines skipped or batches rejected, "
        "2 bad arguments or unreadable input.",
    )
    parser.add_argument("--version", action="version", version=f"ragtel {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # In the order ``ragtel --help`` lists them.
    packages: tuple[tuple[str, _CommandArguments], ...] = (
        ("view", view),
        ("report", report),
        ("send", send),
        ("demo", demo),
    )
    for name, package in packages:
        package.add_arguments(
            commands.add_parser(name, help=package.SUMMARY, description=package.DESCRIPTION)
        )
    return parser


class _CommandArguments(Protocol):
    """What a command's package declares: its help texts and its arguments."""

    SUMMARY: str
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
