"""A span exporter that appends OTLP JSON Lines to a local file.

Each export call becomes exactly one line, written with a single ``write``
on a descriptor opened with ``O_APPEND``: a crash (even ``kill -9``) between
calls leaves only whole lines, and several processes can share one file. A
write cut short (a full disk) is rolled back so no partial line stays behind.
The file is created readable by its owner only (mode 0600); an existing
file's mode is left as it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ragtel._fork import reinit_in_child
from ragtel._otlp_json import encode_spans_line

_logger = logging.getLogger("ragtel")

_FILE_MODE = 0o600


class OtlpJsonLinesExporter(SpanExporter):
    """Append spans to ``path`` as OTLP JSON Lines."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.path.abspath(os.fspath(path))
        self._lock = threading.Lock()
        reinit_in_child(self._reinit_lock)
        self._fd: int | None = None
        self._needs_newline = False
        self._is_shutdown = False

    @property
    def path(self) -> str:
        return self._path

    def _reinit_lock(self) -> None:
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._is_shutdown or not spans:
            return SpanExportResult.FAILURE if self._is_shutdown else SpanExportResult.SUCCESS
        try:
            payload = (encode_spans_line(spans) + "\n").encode("utf-8")
        except Exception:  # one bad batch must not stop the exporter
            _logger.exception("ragtel: could not encode %d spans for %s", len(spans), self._path)
            return SpanExportResult.FAILURE
        with self._lock:
            try:
                self._append(payload)
            except OSError as error:
                _logger.error("ragtel: could not write traces to %s: %s", self._path, error)
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        # Lines go straight to the kernel with os.write; there is no user-space buffer.
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._is_shutdown = True
            if self._fd is not None:
                with contextlib.suppress(OSError):  # fsync is best effort (e.g. a pipe)
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None

    def _open(self) -> int:
        directory = os.path.dirname(self._path)
        os.makedirs(directory, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self._path, flags, _FILE_MODE)
        size = os.fstat(fd).st_size
        if size:
            # A line left unfinished by some other writer must not swallow ours.
            with open(self._path, "rb") as existing:
                existing.seek(size - 1)
                self._needs_newline = existing.read(1) != b"\n"
        return fd

    def _append(self, payload: bytes) -> None:
        if self._fd is None:
            self._fd = self._open()
        if self._needs_newline:
            payload = b"\n" + payload
        fd = self._fd
        start = os.fstat(fd).st_size
        written = 0
        try:
            while written < len(payload):
                written += os.write(fd, payload[written:])
        except OSError:
            if written:
                self._roll_back(fd, start, written)
            raise
        self._needs_newline = False

    def _roll_back(self, fd: int, start: int, written: int) -> None:
        # Only if nobody else appended meanwhile; otherwise truncating would cut their lines.
        try:
            if os.fstat(fd).st_size == start + written:
                os.ftruncate(fd, start)
            else:
                self._needs_newline = True
        except OSError:
            self._needs_newline = True
