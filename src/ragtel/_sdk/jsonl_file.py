"""OTLP JSON Lines files, and the span exporter that appends to one.

Each export call becomes exactly one line, appended under an exclusive
``flock`` on a descriptor opened with ``O_APPEND``, so several processes can
share one file. A write cut short (a full disk) is rolled back. A line left
unfinished by a writer killed mid-write (``kill -9`` during a large write) is
cut off the next time the file is opened, so the file holds whole lines
only; at most that last batch is lost.
The file is created readable by its owner only (mode 0600); an existing
file's mode is left as it is. A file that does not hold OTLP JSON Lines (or
a link, a directory, a device) is never written to, nor cut
(:mod:`ragtel._sdk.jsonl_target`).
Before each line, the path is checked against the open file (one ``stat``):
when the file was deleted or renamed (rotated), the path is opened again, so
lines go where a log shipper looks for them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ragtel._sdk.jsonl_target import (
    APPEND_FLAGS,
    ForeignFileError,
    as_foreign,
    check_kind,
    check_open_file,
)
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")

_FILE_MODE = 0o600
_SCAN_CHUNK = 1 << 16


class JsonLinesFile:
    """One append-only OTLP JSON Lines file: whole lines, shared safely between processes."""

    def __init__(self, path: str | os.PathLike[str], *, what: str) -> None:
        self._path = os.path.abspath(os.fspath(path))
        self._what = what
        self._lock = threading.Lock()
        STATE.reinit_in_child(self)
        self._fd: int | None = None
        self._needs_newline = False
        self._refusal_reported = False
        self.is_shutdown = False

    @property
    def path(self) -> str:
        return self._path

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()

    def write_line(self, line: str) -> bool:
        """Append ``line`` and a newline; False (logged) if it could not be written."""
        payload = (line + "\n").encode("utf-8")
        with self._lock:
            if self.is_shutdown:
                return False
            try:
                self._append(payload)
            except ForeignFileError as error:
                if not self._refusal_reported:  # checked again each batch: it may be fixed
                    self._refusal_reported = True
                    _logger.error(
                        "ragtel: not writing %s: %s. They are dropped and counted until the "
                        "path is fixed. Reported once",
                        self._what,
                        error,
                    )
                return False
            except OSError as error:
                _logger.error("ragtel: could not write %s to %s: %s", self._what, self._path, error)
                return False
        self._refusal_reported = False
        return True

    def append_batch(self, encode: Callable[[Sequence[Any]], str], batch: Sequence[Any]) -> bool:
        """Encode ``batch`` as one line and append it; False (logged) if either step failed."""
        if self.is_shutdown:
            return False
        if not batch:
            return True
        try:
            line = encode(batch)
        except Exception:  # one bad batch must not stop the exporter
            _logger.exception(
                "ragtel: could not encode %d %s for %s", len(batch), self._what, self._path
            )
            return False
        return self.write_line(line)

    def close(self) -> None:
        with self._lock:
            self.is_shutdown = True
            if self._fd is not None:
                with contextlib.suppress(OSError):  # fsync is best effort (e.g. a pipe)
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None

    def _open(self) -> int:
        directory = os.path.dirname(self._path)
        os.makedirs(directory, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            # Never opened unless regular: opening a device or FIFO can have effects of its own.
            check_kind(os.lstat(self._path), self._path)
        try:
            fd = os.open(self._path, APPEND_FLAGS, _FILE_MODE)
        except OSError as error:
            raise as_foreign(error, self._path) from None
        try:
            with _exclusive(fd):
                check_open_file(fd, self._path, self._what)
                self._repair_torn_tail(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _reopen_if_moved(self, fd: int) -> int | None:
        """``fd``, or None when its file is no longer at the path (deleted, or renamed away)."""
        try:
            at_path = os.lstat(self._path)
        except FileNotFoundError:
            at_path = None
        except OSError:
            return fd  # cannot tell: keep writing where we were
        status = os.fstat(fd)
        if at_path is not None and (at_path.st_ino, at_path.st_dev) == (
            status.st_ino,
            status.st_dev,
        ):
            return fd
        os.close(fd)
        if status.st_nlink == 0:
            _logger.warning(
                "ragtel: %s was deleted; writing %s to a new file at that path",
                self._path,
                self._what,
            )
        else:
            _logger.info(
                "ragtel: %s was renamed (rotated); writing %s to a new file at that path",
                self._path,
                self._what,
            )
        return None

    def _repair_torn_tail(self, fd: int) -> None:
        """Cut an unfinished last line, left by a writer killed in the middle of a write.

        Such a line can never be read back; keeping it would also glue the next
        line onto it. Runs under the file lock, so no live writer is mid-line.
        """
        size = os.fstat(fd).st_size
        if not size or os.pread(fd, 1, size - 1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(end - _SCAN_CHUNK, 0)
            chunk = os.pread(fd, end - start, start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        os.ftruncate(fd, end)
        _logger.warning(
            "ragtel: removed an unfinished last line (%d bytes) from %s, "
            "left by a writer that stopped mid-write",
            size - end,
            self._path,
        )

    def _append(self, payload: bytes) -> None:
        if self._fd is not None:
            self._fd = self._reopen_if_moved(self._fd)
        if self._fd is None:
            self._fd = self._open()
        fd = self._fd
        with _exclusive(fd):
            if self._needs_newline:
                payload = b"\n" + payload
            start = os.fstat(fd).st_size
            written = 0
            try:
                while written < len(payload):
                    written += os.write(fd, payload[written:])
            except OSError:
                if written:
                    self._roll_back(fd, start)
                raise
            self._needs_newline = False

    def _roll_back(self, fd: int, start: int) -> None:
        # Under the file lock, nobody else appended since ``start``.
        try:
            os.ftruncate(fd, start)
        except OSError:
            self._needs_newline = True


@contextlib.contextmanager
def _exclusive(fd: int) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``fd``: whole lines even across processes."""
    if fcntl is None:  # no advisory locks on this platform; O_APPEND still applies
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class OtlpJsonLinesExporter(SpanExporter):
    """Append spans to ``path`` as OTLP JSON Lines (one line per export call)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = JsonLinesFile(path, what="traces")

    @property
    def path(self) -> str:
        return self._file.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._file.append_batch(encode_spans_line, spans):
            return SpanExportResult.SUCCESS
        return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        # Lines go straight to the kernel with os.write; there is no user-space buffer.
        return True

    def shutdown(self) -> None:
        self._file.close()
