"""Which files ragtel may append OTLP JSON Lines to.

ragtel appends to a file, and cuts the unfinished last line a killed writer
left (see :mod:`ragtel._sdk.jsonl_file`). Both are safe only on a file that
holds ragtel's own lines, so a path is written to only when it is

* missing (it is then created, owner-only), or
* a regular file, not a symbolic link, that is empty or whose first line
  is OTLP JSON of the same signal (``{"resourceSpans": ...`` for traces,
  ``{"resourceLogs": ...`` for log records).

Anything else (a database, a text file, a link, a directory, a FIFO, a
device) is refused and left byte for byte as it was. A symbolic link is
refused rather than followed: its target is a file ragtel cannot vouch for,
and in a shared directory following it lets another user aim ragtel's writes
at their choice of file. Only the first 64 KiB are read, so the check costs
the same whatever the file's size. Messages name the path and the reason,
never the file's content.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from typing import Final

_HEAD_BYTES: Final = 1 << 16
_NO_FOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
READ_FLAGS: Final = (
    os.O_RDONLY
    | _NO_FOLLOW
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the check must not block
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
APPEND_FLAGS: Final = (
    os.O_RDWR
    | os.O_APPEND
    | os.O_CREAT
    | _NO_FOLLOW
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)

SIGNAL_KEYS: Final = {"traces": "resourceSpans", "log records": "resourceLogs"}
"""The top-level key of a line, by what the file holds."""


class ForeignFileError(OSError):
    """A path ragtel refuses to write to; the message says why, never what the file holds."""


def check_target(path: str, what: str) -> None:
    """Raise ForeignFileError unless ragtel may append ``what`` (traces or log records) there."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    check_kind(status, path)
    if not status.st_size:
        return
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as error:
        raise as_foreign(error, path) from None
    try:
        check_open_file(fd, path, what)
    finally:
        os.close(fd)


def check_kind(status: os.stat_result, path: str) -> None:
    if stat.S_ISLNK(status.st_mode):
        raise ForeignFileError(
            f"{path} is a symbolic link; ragtel writes only to a regular file, "
            "give the path of the file itself"
        )
    if not stat.S_ISREG(status.st_mode):
        raise ForeignFileError(
            f"{path} is not a regular file (a directory, FIFO, device or socket)"
        )


def check_open_file(fd: int, path: str, what: str) -> None:
    """Raise ForeignFileError unless ``fd`` is a regular file, empty or of OTLP JSON ``what``."""
    status = os.fstat(fd)
    check_kind(status, path)
    if not status.st_size:
        return
    head = os.pread(fd, _HEAD_BYTES, 0)
    if not _starts_with_otlp(head, SIGNAL_KEYS[what]):
        raise ForeignFileError(
            f"{path} is not an OTLP JSON Lines file of {what} (its first line is not "
            "OTLP JSON); ragtel leaves it untouched"
        )


def as_foreign(error: OSError, path: str) -> OSError:
    """``error`` from opening ``path``, as a ForeignFileError when it means "not a file"."""
    if error.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
        return ForeignFileError(
            f"{path} is a symbolic link; ragtel writes only to a regular file, "
            "give the path of the file itself"
        )
    if error.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV):
        return ForeignFileError(
            f"{path} is not a regular file (a directory, FIFO, device or socket)"
        )
    return error


def _starts_with_otlp(head: bytes, key: str) -> bool:
    line, newline, _ = head.partition(b"\n")
    if newline:
        try:
            data = json.loads(line)
        except ValueError:  # also UnicodeDecodeError
            return False
        return isinstance(data, dict) and key in data
    # A first line longer than what was read (or cut short by a killed writer):
    # its opening must be the signal's key.
    return re.match(rb'\s*\{\s*"' + key.encode() + rb'"\s*:', line) is not None
