"""``ragtel demo``: run the offline RAG demo into a traces file, then say what to run next."""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ragtel.cli._errors import EXIT_OK, EXIT_PARTIAL, CliError
from ragtel.cli._jsonl import TRACES_JSON, count_items, default_traces_path

if TYPE_CHECKING:
    from ragtel.cli.demo.traces import SweepResult

_REPORT_KEYS = ("ingestion.chunk_size", "retrieval.top_k")
_FILE_MODE = 0o600  # the mode ragtel's exporter gives the traces files it creates


def run(args: argparse.Namespace) -> int:
    path: str = args.output or default_traces_path()
    had_data = _holds_data(path)
    _prepare_output(path)
    # With older runs in the file, --since must tell this run's traces apart, to the second.
    since = _next_whole_second() if had_data else None
    offset = os.path.getsize(path)
    outcome = _run_demo(path, args.seed)
    _print_summary(outcome, path, _count_spans(path, offset), since)
    if outcome.dropped_spans:
        print(
            f"ragtel: {outcome.dropped_spans} spans could not be written to {path}", file=sys.stderr
        )
        return EXIT_PARTIAL
    return EXIT_OK


@dataclass(frozen=True)
class _Outcome:
    sweep: SweepResult
    judged_answers: int
    dropped_spans: int


def _run_demo(path: str, seed: int) -> _Outcome:
    # Loaded here: the pipeline pulls in the tracing SDK, which the parser alone does not need.
    from ragtel.cli.demo.feedback import give_feedback
    from ragtel.cli.demo.traces import DemoTracers, run_sweep

    tracers = DemoTracers(path)
    try:
        sweep = run_sweep(tracers)
        # Export every answer first: the simulated users click later, as real ones do.
        tracers.flush()
        judged = give_feedback(tracers.query, sweep.queries, seed)
    finally:
        # Before anything is printed: the commands below must find every span in the file.
        dropped = tracers.close()
    return _Outcome(sweep, judged, dropped)


def _print_summary(outcome: _Outcome, path: str, spans: int, since: datetime | None) -> None:
    sweep = outcome.sweep
    traces = sweep.ingestion_traces + len(sweep.queries)
    print(
        f"Wrote {traces} traces ({sweep.ingestion_traces} ingestion, {len(sweep.queries)} query) "
        f"with {spans} spans to {path}"
    )
    print(
        f"{sweep.failed_queries} queries failed on purpose (a question the help centre "
        f"cannot answer); simulated users judged {outcome.judged_answers} answers."
    )
    print("\nNext, look at the traces, then compare the settings:")
    for command in next_commands(path, since):
        print(f"  {command}")


def next_commands(path: str, since: datetime | None) -> list[str]:
    """The ``view`` and ``report`` commands, ready to paste."""
    program = _program()
    target = shlex.quote(path)
    if since is not None:
        target += f" --since {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    group_by = " ".join(f"--by {key}" for key in _REPORT_KEYS)
    return [f"{program} view {target}", f"{program} report {target} {group_by}"]


# The output file -----------------------------------------------------------------


def _holds_data(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def _prepare_output(path: str) -> None:
    """Create ``path`` if needed; raise CliError when it cannot be appended to."""
    if os.path.isdir(path):
        raise CliError(f"{path}: is a directory, not a traces file")
    directory = os.path.dirname(path) or os.curdir
    if not os.path.isdir(directory):
        # The exporter would create missing directories; a typo should not.
        raise CliError(f"{path}: no such directory: {directory}")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
    except OSError as error:
        raise CliError(f"{path}: cannot write: {error.strerror or error}") from None
    os.close(descriptor)


def _count_spans(path: str, offset: int) -> int:
    """Spans in the lines written after ``offset``."""
    spans = 0
    with open(path, "rb") as traces:
        traces.seek(offset)
        for line in traces:
            try:
                data = json.loads(line)
            except ValueError:
                continue  # blank, or cut short by another writer
            if isinstance(data, dict):
                spans += count_items(data, TRACES_JSON)
    return spans


# Time --------------------------------------------------------------------------


def _next_whole_second() -> datetime:
    """Wait for the next whole second and return it: every span of the run starts at or after."""
    now = time.time()
    start = math.floor(now) + 1
    time.sleep(start - now)
    return datetime.fromtimestamp(start, timezone.utc)


# The program name --------------------------------------------------------------


def _program() -> str:
    """How the user ran this program, as a command they can run again from here."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name.partition(".")[0] == "ragtel":  # python -m ragtel
        return f"{_interpreter()} -m ragtel"
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script).startswith("ragtel"):
        found = shutil.which("ragtel")
        if found is not None and _same_file(found, script):
            return "ragtel"
        return shlex.quote(script)
    # Run some other way (embedded, say): the first of these that exists is the best guess.
    return "ragtel" if shutil.which("ragtel") else f"{_interpreter()} -m ragtel"


def _interpreter() -> str:
    invoked = sys.orig_argv[0] if getattr(sys, "orig_argv", None) else ""
    if invoked and os.path.dirname(invoked):
        return shlex.quote(invoked)  # a path, relative or not, works from the same directory
    if invoked:
        found = shutil.which(invoked)
        # Not resolving symlinks: a virtualenv's python links to one outside it.
        if found is not None and _same_path(found, sys.executable):
            return shlex.quote(invoked)
    return shlex.quote(sys.executable or "python3")


def _same_path(left: str, right: str) -> bool:
    return os.path.normcase(os.path.abspath(left)) == os.path.normcase(os.path.abspath(right))


def _same_file(left: str, right: str) -> bool:
    # A script's link runs the same script: here symlinks may be followed.
    try:
        return os.path.samefile(left, right)
    except OSError:
        return _same_path(left, right)
