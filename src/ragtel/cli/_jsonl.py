"""Reading OTLP JSON Lines files: good lines in, bad lines counted with their numbers.

Every command reads its file through :func:`numbered_otlp_lines`. A line is OTLP
JSON when it is a JSON object holding a ``resourceSpans`` or ``resourceLogs``
list; anything else (a torn write, a stray log line, a line cut off at the
end of the file) is skipped and remembered, so the command can report it and
carry on with everything that was readable. :class:`Layout` says where a
line keeps its spans or log records, for the commands that walk them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ragtel.cli._errors import CliError, shorten


@dataclass(frozen=True)
class BadLine:
    """A line that was skipped: its 1-based number and why."""

    number: int
    reason: str


@dataclass
class LineStats:
    """What reading a file found, besides the good lines themselves."""

    path: str
    good_lines: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    bytes_read: int = 0
    """Bytes of the file read so far, for progress reports."""

    @property
    def skipped(self) -> int:
        return len(self.bad_lines)

    def describe_skipped(self, limit: int = 10) -> str:
        """One line naming the skipped lines, e.g. ``skipped 2 corrupt lines: 7 (...), 9 (...)``."""
        shown = ", ".join(f"{bad.number} ({bad.reason})" for bad in self.bad_lines[:limit])
        more = self.skipped - limit
        if more > 0:
            shown += f" and {more} more"
        noun = "line" if self.skipped == 1 else "lines"
        return f"skipped {self.skipped} corrupt {noun} of {self.path}: {shown}"


def numbered_otlp_lines(path: str, stats: LineStats) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield each OTLP JSON line of ``path`` as a dict with its 1-based number.

    Bad lines are recorded in ``stats``, not yielded. Raises :class:`CliError`
    (status 2) when the file cannot be opened, and, once the file is read to
    its end, when none of its lines was OTLP JSON.
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
        for number, raw in enumerate(handle, start=1):
            stats.bytes_read += len(raw)
            if not raw.strip():
                continue
            data, reason = _parse(raw)
            if data is None:
                stats.bad_lines.append(BadLine(number, reason))
                continue
            stats.good_lines += 1
            yield number, data
    except OSError as error:
        raise CliError(f"{path}: read failed: {error.strerror or error}") from None
    finally:
        handle.close()
    raise_if_nothing_readable(stats)


def raise_if_nothing_readable(stats: LineStats) -> None:
    """Raise :class:`CliError` when every non-blank line of the file was bad."""
    if stats.good_lines == 0 and stats.bad_lines:
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
