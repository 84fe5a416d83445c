"""Reading OTLP JSON Lines files: good lines in, bad lines counted with their numbers.

Every command reads its file through :func:`numbered_otlp_lines`. A line is OTLP
JSON when it is a JSON object holding a ``resourceSpans`` or ``resourceLogs``
list; anything else (a torn write, a stray log line, a line cut off at the
end of the file, a line nested too deeply to parse, a line longer than the
limit) is skipped and remembered, so the command can report it and carry on
with everything that was readable. Memory stays bounded whatever the input:
an over-long line is read past in chunks, and only the first
:data:`KEPT_BAD_LINES` problems are kept. :class:`Layout` says where a line
keeps its spans or log records, for the commands that walk them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Final

from ragtel.cli._arguments import DEFAULT_MAX_LINE_BYTES
from ragtel.cli._errors import CliError, shorten

KEPT_BAD_LINES: Final = 1_000
"""Problems remembered with their line number and reason; later ones are only
counted, so a file of millions of bad lines is reported in bounded memory."""
_DISCARD_CHUNK_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class BadLine:
    """A line that was skipped (or, with ``spans``, some spans of it): its 1-based number
    and why."""

    number: int
    reason: str
    spans: int = 0
    """Spans skipped from a line that was otherwise read; 0 when the whole line was."""


@dataclass
class LineStats:
    """What reading a file found, besides the good lines themselves."""

    path: str
    good_lines: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    """The first :data:`KEPT_BAD_LINES` problems, in reading order."""
    skipped: int = 0
    """Lines skipped whole."""
    skipped_spans: int = 0
    """Spans skipped from lines that were otherwise read."""
    problems: int = 0
    """Lines skipped whole, plus lines with skipped spans."""
    bytes_read: int = 0
    """Bytes of the file read so far, for progress reports."""

    @property
    def has_problems(self) -> bool:
        return self.problems > 0

    def skip_line(self, number: int, reason: str) -> None:
        """Count line ``number`` as skipped, for ``reason``."""
        self.skipped += 1
        self._keep(BadLine(number, reason))

    def reject_line(self, number: int, reason: str) -> None:
        """A line read as good turned out unusable: count it as skipped instead."""
        self.good_lines -= 1
        self.skip_line(number, reason)

    def skip_spans(self, number: int, count: int, reason: str) -> None:
        """Count ``count`` spans of line ``number`` as skipped; the rest of it was read."""
        self.skipped_spans += count
        self._keep(BadLine(number, reason, count))

    def _keep(self, bad: BadLine) -> None:
        self.problems += 1
        if len(self.bad_lines) < KEPT_BAD_LINES:
            self.bad_lines.append(bad)

    def describe_skipped(self, limit: int = 10) -> str:
        """One line naming the problems: ``skipped 2 corrupt lines of F: 7 (...), 9 (...)``.

        Reasons may quote the file: print it with :func:`~ragtel.cli._escape.say`.
        """
        shown = sorted(self.bad_lines, key=lambda bad: bad.number)[:limit]
        text = ", ".join(_describe(bad) for bad in shown)
        more = self.problems - len(shown)
        if more > 0:
            text += f" and {more:,} more"
        counts = []
        if self.skipped:
            counts.append(_plural(self.skipped, "corrupt line"))
        if self.skipped_spans:
            counts.append(_plural(self.skipped_spans, "malformed span"))
        return f"skipped {' and '.join(counts)} of {self.path}: {text}"


def _describe(bad: BadLine) -> str:
    if bad.spans:
        return f"{bad.number} ({_plural(bad.spans, 'span')}: {bad.reason})"
    return f"{bad.number} ({bad.reason})"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def numbered_otlp_lines(
    path: str, stats: LineStats, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield each OTLP JSON line of ``path`` as a dict with its 1-based number.

    Bad lines are recorded in ``stats``, not yielded; so are lines longer than
    ``max_line_bytes`` (newline not counted), which are skipped without being
    held in memory. Raises :class:`CliError` (status 2) when the file cannot be
    opened, when its first line is over-long and not even the start of a JSON
    object (a binary file, or an endless stream such as ``/dev/zero``), and,
    once the file is read to its end, when none of its lines was OTLP JSON.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not an OTLP JSON Lines file") from None
    except OSError as error:
        raise CliError(f"{path}: cannot open: {error.strerror or error}") from None
    try:
        number = 0
        while True:
            # One byte over the limit tells an over-long line from one that just fits.
            raw = handle.readline(max_line_bytes + 1)
            if not raw:
                break
            number += 1
            stats.bytes_read += len(raw)
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                looks_like_json = raw[:4096].lstrip()[:1] == b"{"
                del raw  # the discarding below must not hold the line
                _refuse_if_foreign(stats, number, looks_like_json, max_line_bytes)
                stats.bytes_read += _discard_rest_of_line(handle)
                stats.skip_line(number, f"longer than {_size_text(max_line_bytes)}, skipped")
                continue
            if raw.isspace():
                continue
            data, reason = _parse(raw)
            if data is None:
                stats.skip_line(number, reason)
                continue
            stats.good_lines += 1
            yield number, data
    except OSError as error:
        raise CliError(f"{path}: read failed: {error.strerror or error}") from None
    finally:
        handle.close()
    raise_if_nothing_readable(stats)


def _refuse_if_foreign(
    stats: LineStats, number: int, looks_like_json: bool, max_line_bytes: int
) -> None:
    # An over-long first line that does not even open a JSON object is no OTLP file;
    # skipping to its end could take forever on an endless stream.
    if not looks_like_json and stats.good_lines == 0 and not stats.problems:
        raise CliError(
            f"{stats.path}: not an OTLP JSON Lines file (line {number}: longer than "
            f"{_size_text(max_line_bytes)} and not JSON)"
        )


def _discard_rest_of_line(handle: IO[bytes]) -> int:
    """Read past the end of the current line in bounded chunks; the bytes read."""
    discarded = 0
    while True:
        chunk = handle.readline(_DISCARD_CHUNK_BYTES)
        discarded += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return discarded


def _size_text(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor:,} {unit}"
    return f"{size:,} bytes"


def raise_if_nothing_readable(stats: LineStats) -> None:
    """Raise :class:`CliError` when every non-blank line of the file was bad."""
    if stats.good_lines == 0 and stats.skipped:
        first = min(stats.bad_lines, key=lambda bad: bad.number)
        raise CliError(
            f"{stats.path}: not an OTLP JSON Lines file (line {first.number}: {first.reason})"
        )


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    if not raw.endswith(b"\n"):
        truncated = " (the file ends mid-line: cut off, or still being written)"
    else:
        truncated = ""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        return None, "not UTF-8" + truncated
    except ValueError as error:
        return None, shorten(f"not JSON: {error}") + truncated
    except RecursionError:
        return None, "JSON nested too deeply"
    if not isinstance(data, dict):
        return None, f"a JSON {type(data).__name__}, not an OTLP object"
    spans = data.get("resourceSpans")
    logs = data.get("resourceLogs")
    if spans is None and logs is None:
        return None, "JSON without resourceSpans or resourceLogs"
    if not isinstance(spans if spans is not None else logs, list):
        return None, "resourceSpans/resourceLogs is not a list"
    return data, ""


@dataclass(frozen=True)
class Layout:
    """Where one signal's items sit in a line: resources, then scopes, then items."""

    signal: str
    """``traces`` or ``logs``: the service the batches go to."""
    resources: str
    scopes: str
    items: str
    noun: str
    """What one item is called in messages: ``span`` or ``log record``."""


TRACES_JSON = Layout("traces", "resourceSpans", "scopeSpans", "spans", "span")
LOGS_JSON = Layout("logs", "resourceLogs", "scopeLogs", "logRecords", "log record")
TRACES_FIELDS = Layout("traces", "resource_spans", "scope_spans", "spans", "span")
LOGS_FIELDS = Layout("logs", "resource_logs", "scope_logs", "log_records", "log record")


def count_items(line: dict[str, Any], layout: Layout) -> int:
    """The spans (or log records) of ``layout``'s signal in ``line``."""
    return sum(
        len(scope.get(layout.items) or ())
        for resource in line.get(layout.resources) or ()
        for scope in resource.get(layout.scopes) or ()
    )


def default_traces_path() -> str:
    """The file ragtel writes by default: ``RAGTEL_TRACES_FILE`` or ``./ragtel-traces.jsonl``."""
    from ragtel._config import DEFAULT_TRACES_FILE
    from ragtel._environment import RAGTEL_TRACES_FILE

    return os.environ.get(RAGTEL_TRACES_FILE) or DEFAULT_TRACES_FILE
