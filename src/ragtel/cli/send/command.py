"""``ragtel send FILE --endpoint URL``: replay an OTLP JSON Lines file to a collector.

The file is streamed: each line is read, checked (and, for the protobuf
protocols, converted to message fields), re-batched to ``--batch-size``
items per request and sent before the next lines are read. Ids and
timestamps go out exactly as the file has them.

Exit status: 0 when every line was readable and every batch accepted; 1 when
corrupt lines were skipped or batches rejected (everything else is still
sent); 2 when nothing could be done (see :mod:`ragtel.cli._errors`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from ragtel.cli._arguments import DEFAULT_MAX_LINE_BYTES
from ragtel.cli._errors import EXIT_OK, EXIT_PARTIAL, shorten
from ragtel.cli._escape import say
from ragtel.cli._jsonl import (
    LOGS_FIELDS,
    LOGS_JSON,
    TRACES_FIELDS,
    TRACES_JSON,
    LineStats,
    default_traces_path,
    numbered_otlp_lines,
)
from ragtel.cli.send.batches import (
    Batch,
    Batcher,
    line_fields,
    rebatch,
)
from ragtel.cli.send.destination import Destination, resolve_destination, without_password
from ragtel.cli.send.outcome import Outcome
from ragtel.cli.send.transport import open_sender


def run(args: argparse.Namespace) -> int:
    path: str = args.file or default_traces_path()
    destination = resolve_destination(args, os.environ)
    stats = LineStats(path)
    sender = open_sender(destination)
    tally = Tally(started=time.monotonic())
    progress = Progress.open(args.progress, path, sys.stderr, tally)
    batches = file_batches(
        path, stats, destination.protocol, args.batch_size, progress, args.max_line_size
    )
    try:
        for batch in batches:
            outcome = sender.send(batch)
            tally.add(batch, outcome)
            if outcome.stop:
                break
    except KeyboardInterrupt:
        progress.finish(complete=False)
        _say(f"ragtel: {tally.delivered_text()} sent before the interruption")
        raise
    finally:
        # Stopping early leaves the reader (and its file) open: close it now.
        batches.close()
        sender.close()
    progress.finish(complete=not tally.stopped)
    return _report(path, stats, tally, destination)


def file_batches(
    path: str,
    stats: LineStats,
    protocol: str,
    batch_size: int,
    progress: Progress,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Generator[Batch, None, None]:
    """The batches of ``path`` in file order, read as they are needed."""
    if protocol == "http/json":
        layouts, convert = (TRACES_JSON, LOGS_JSON), _checked_json
    else:
        layouts, convert = (TRACES_FIELDS, LOGS_FIELDS), line_fields
    lines = readable_lines(path, stats, convert, max_line_bytes)
    batchers = [Batcher(layout, batch_size) for layout in layouts]
    try:
        for batch in rebatch(_showing(lines, progress, stats), batchers):
            yield batch
            progress.update(stats.bytes_read)
    finally:
        lines.close()


def readable_lines(
    path: str,
    stats: LineStats,
    convert: Callable[[dict[str, Any]], dict[str, Any]],
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Generator[dict[str, Any], None, None]:
    """Each good line of ``path``, converted; a line that does not convert is skipped like
    a corrupt one, with its number."""
    for number, line in numbered_otlp_lines(path, stats, max_line_bytes):
        try:
            converted = convert(line)
        except ValueError as error:
            stats.reject_line(number, shorten(str(error)))
            continue
        yield converted


def _showing(
    lines: Iterator[dict[str, Any]], progress: Progress, stats: LineStats
) -> Iterator[dict[str, Any]]:
    for line in lines:
        progress.update(stats.bytes_read)
        yield line


def _checked_json(line: dict[str, Any]) -> dict[str, Any]:
    # Sent as the file has it, but checked as the protobuf protocols convert it: a
    # value a collector must refuse (an id of the wrong size, an integer out of
    # range) skips its line alone instead of getting a whole batch rejected.
    line_fields(line)
    return line


@dataclass
class Tally:
    """What the batches sent so far became."""

    started: float
    batches: int = 0
    requests: int = 0
    rejected_batches: int = 0
    delivered: Counter[str] = field(default_factory=Counter)
    """Items the collector took, by noun (``span``, ``log record``)."""
    rejected: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    """Items never sent because protobuf could not encode them, by noun."""
    signals: set[str] = field(default_factory=set)
    first_reason: str = ""
    first_left_out_reason: str = ""
    stopped: bool = False
    """A batch failed in a way later ones would too, and the rest of the file was left."""

    def add(self, batch: Batch, outcome: Outcome) -> None:
        noun = batch.layout.noun
        self.batches += 1
        self.requests += outcome.requests
        self.signals.add(batch.layout.signal)
        self.delivered[noun] += batch.size - outcome.rejected - outcome.left_out
        if outcome.left_out:
            self.left_out[noun] += outcome.left_out
            self.first_left_out_reason = self.first_left_out_reason or outcome.left_out_reason
        if outcome.rejected:
            self.rejected_batches += 1
            self.rejected[noun] += outcome.rejected
            self.first_reason = self.first_reason or outcome.reason
        self.stopped = self.stopped or outcome.stop

    def delivered_text(self) -> str:
        return counts_text(self.delivered) or "nothing"

    def rate_text(self) -> str:
        only_logs = self.delivered["log record"] and not self.delivered["span"]
        noun = "log record" if only_logs else "span"
        seconds = max(time.monotonic() - self.started, 1e-6)
        return f"{self.delivered[noun] / seconds:,.0f} {noun}s/s"


def counts_text(counts: Mapping[str, int]) -> str:
    """``1,024 spans and 3 log records``; empty when every count is 0."""
    nouns = ("span", "log record")
    parts = [_plural(counts[noun], noun) for noun in nouns if counts.get(noun)]
    return " and ".join(parts)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


class Progress:
    """One line on stderr, redrawn in place at most ten times a second; off when disabled."""

    _INTERVAL_SECONDS = 0.1

    def __init__(self, stream: IO[str] | None, total_bytes: int, tally: Tally) -> None:
        self._stream = stream
        self._total_bytes = total_bytes
        self._tally = tally
        self._bytes_read = 0
        self._drawn_at = 0.0
        self._width = 0

    @classmethod
    def open(cls, mode: str, path: str, stream: IO[str], tally: Tally) -> Progress:
        enabled = mode == "always" or (mode == "auto" and stream.isatty())
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        return cls(stream if enabled else None, size, tally)

    def update(self, bytes_read: int) -> None:
        self._bytes_read = bytes_read
        if self._stream is not None and time.monotonic() - self._drawn_at >= self._INTERVAL_SECONDS:
            self._draw()

    def finish(self, *, complete: bool) -> None:
        """Draw the last state (all of the file when ``complete``) and end the line."""
        if self._stream is None or not self._drawn_at:
            return
        if complete:
            self._bytes_read = max(self._bytes_read, self._total_bytes)
        self._draw()
        self._stream.write("\n")
        self._stream.flush()
        self._stream = None

    def _draw(self) -> None:
        assert self._stream is not None
        import shutil

        self._drawn_at = time.monotonic()
        total = max(self._total_bytes, self._bytes_read, 1)
        sent = counts_text(self._tally.delivered) or "0 spans"
        text = (
            f"sending: {100 * self._bytes_read // total:3d}% of {_size_text(total)}, "
            f"{sent} sent, {self._tally.rate_text()}"
        )
        # Longer than the terminal, the line would wrap and "\r" could not redraw it.
        text = text[: shutil.get_terminal_size().columns - 1]
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)


def _size_text(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    exponent = min(len(str(size)) - 1, 9) // 3
    return f"{size / 1000**exponent:,.1f} {('kB', 'MB', 'GB')[exponent - 1]}"


def _report(path: str, stats: LineStats, tally: Tally, destination: Destination) -> int:
    status = EXIT_OK
    if stats.has_problems:
        _say(f"ragtel: {stats.describe_skipped()}")
        status = EXIT_PARTIAL
    if not tally.batches:
        _say("no spans to send")
        return status
    if sum(tally.delivered.values()):
        _say(
            f"sent {tally.delivered_text()} in {tally.requests:,} "
            f"{'request' if tally.requests == 1 else 'requests'} "
            f"to {_destination_text(destination, tally.signals)} ({tally.rate_text()})"
        )
    if tally.left_out:
        _say(
            f"ragtel: left out {counts_text(tally.left_out)} that cannot be sent: "
            f"{tally.first_left_out_reason}"
        )
        status = EXIT_PARTIAL
    if tally.rejected_batches:
        _say(
            f"ragtel: {tally.rejected_batches:,} of {tally.batches:,} batches rejected "
            f"({counts_text(tally.rejected)}): {tally.first_reason}"
        )
        status = EXIT_PARTIAL
    if tally.stopped:
        _say(f"ragtel: stopped sending, the rest of {path} was not sent")
    return status


def _destination_text(destination: Destination, signals: set[str]) -> str:
    if destination.protocol == "grpc":
        return f"{without_password(destination.urls['traces'])} over gRPC"
    used = [signal for signal in ("traces", "logs") if signal in signals]
    return " and ".join(without_password(destination.urls[signal]) for signal in used)


def _say(message: str) -> None:
    # Messages quote the file and the collector's answers: escaped, like every message.
    say(message)
