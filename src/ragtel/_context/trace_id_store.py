"""``store_trace_id`` / ``read_trace_id``: a key -> (trace id, span id) map for one machine.

LastMile's SDK keeps such a map so that one process (the request handler)
can store the trace it answered under an application key (a message id), and
another (the feedback handler, a batch job) can read it back later. ragtel
keeps it in a small SQLite file, so every process of the machine shares it:

* where: ``RAGTEL_TRACE_IDS_FILE`` when set; otherwise the traces file with
  ``.ids.sqlite`` appended (``ragtel-traces.jsonl.ids.sqlite`` by default).
* bounded: at most :data:`MAX_KEYS` keys; storing beyond that drops the
  oldest stored, with a warning once per process.
* concurrent: each call opens the file, waits up to
  :data:`BUSY_TIMEOUT_SECONDS` for another process's write, and closes it.
* harmless: the host never sees an exception from the storage. On any
  SQLite or file error the call logs it once per file and store does
  nothing, read returns None.
* never someone else's file: a symbolic link, a non-SQLite file, or an
  SQLite database ragtel did not create (told by its ``application_id``)
  is refused and left as it was.

Across several machines this file cannot help: derive the trace id from the
request id instead (:func:`ragtel.trace_id_from_request_id`), the same in
every process and every run.

``sqlite3`` is imported at first use, so ``import ragtel`` does not load it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final, TypeVar

from opentelemetry import trace

from ragtel import _environment as env
from ragtel._config import DEFAULT_TRACES_FILE
from ragtel._context.ids import parse_span_id, parse_trace_id
from ragtel._sdk.jsonl_target import ForeignFileError, check_kind
from ragtel._state import STATE

if TYPE_CHECKING:
    import sqlite3

_logger = logging.getLogger("ragtel")

MAX_KEYS: Final = 100_000
"""Keys kept in one file; storing more drops the oldest stored."""
BUSY_TIMEOUT_SECONDS: Final = 5.0
"""How long a call waits for another process's write before giving up."""
SUFFIX: Final = ".ids.sqlite"
"""Appended to the traces file's path to name the map's file."""
APPLICATION_ID: Final = 0x72746964  # "rtid": marks the database as ragtel's
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS trace_ids ("
    "key TEXT PRIMARY KEY, trace_id TEXT NOT NULL, span_id TEXT)"
)


def store_path(traces_file: str | None = None) -> str:
    """The map's file: ``RAGTEL_TRACE_IDS_FILE``, else ``<traces file>.ids.sqlite``.

    ``traces_file`` is the tracer's own traces file when it writes one;
    otherwise ``RAGTEL_TRACES_FILE`` or ``./ragtel-traces.jsonl``.
    """
    explicit = os.environ.get(env.RAGTEL_TRACE_IDS_FILE)
    if explicit:
        return explicit
    base = traces_file or os.environ.get(env.RAGTEL_TRACES_FILE) or DEFAULT_TRACES_FILE
    return base + SUFFIX


def store_trace_id(
    key: str, trace_id: int | str | None = None, span_id: int | str | None = None
) -> None:
    """Store ``key`` -> (trace id, span id) in the map's file (default ids: the current span's).

    The file is :func:`store_path`'s. A tracer's own method uses the file
    beside that tracer's traces file.

    Example::

        with tracer.start_as_current_span("answer"):
            ragtel.store_trace_id(message_id)
        ...  # later, in the feedback handler's process
        tracer.log_binary_feedback(True, ragtel.read_trace_id(message_id))
    """
    store_in(store_path(), key, trace_id, span_id)


def read_trace_id(key: str) -> str | None:
    """The trace id stored under ``key`` as a decimal string (LastMile's form); None if unknown.

    Example::

        trace_id = ragtel.read_trace_id(message_id)
    """
    return read_from(store_path(), key)


def store_in(
    path: str, key: str, trace_id: int | str | None = None, span_id: int | str | None = None
) -> None:
    """Store ``key`` -> (trace id, span id) in ``path`` (default ids: the current span's).

    Ids may be ints, hex or decimal strings, as everywhere in ragtel. A key
    stored again takes the new ids. TypeError for a key that is not a
    non-empty string, ValueError for an invalid id; storage errors are only
    logged.
    """
    _check_key(key)
    span_number: int | None
    if trace_id is None:
        current = trace.get_current_span().get_span_context()
        if not current.is_valid:
            _logger.warning(
                "ragtel: store_trace_id(%r): no trace id given and no current span", key
            )
            return
        trace_number = current.trace_id
        span_number = current.span_id if span_id is None else parse_span_id(span_id)
    else:
        trace_number = parse_trace_id(trace_id)
        span_number = None if span_id is None else parse_span_id(span_id, trace_id=trace_id)
    row = (key, str(trace_number), None if span_number is None else str(span_number))
    _run(path, _write, row)


def read_from(path: str, key: str) -> str | None:
    """The trace id stored under ``key`` in ``path``, a decimal string; None if unknown."""
    _check_key(key)
    return _run(path, _read, (key,))


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(f"key must be a non-empty str; got {type(key).__name__}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("key must be valid Unicode text (it holds a lone surrogate)") from None


def _write(connection: sqlite3.Connection, row: tuple[str, str, str | None]) -> None:
    with _transaction(connection):
        # REPLACE deletes and re-inserts, so a key stored again counts as the newest.
        connection.execute("INSERT OR REPLACE INTO trace_ids VALUES (?, ?, ?)", row)
        low, high = connection.execute("SELECT min(rowid), max(rowid) FROM trace_ids").fetchone()
        if high - low < MAX_KEYS:
            return  # the common case costs two O(1) reads, not a count of the table
        dropped = connection.execute(
            "DELETE FROM trace_ids WHERE rowid IN "
            "(SELECT rowid FROM trace_ids ORDER BY rowid DESC LIMIT -1 OFFSET ?)",
            (MAX_KEYS,),
        ).rowcount
    if dropped > 0 and STATE.first_time("trace id store full"):
        _logger.warning(
            "ragtel: store_trace_id keeps at most %d keys per file; the oldest are dropped",
            MAX_KEYS,
        )


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """An IMMEDIATE transaction: it takes the write lock first (waiting for the busy
    timeout), so two processes cannot both read, then both write on what they read."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _read(connection: sqlite3.Connection, row: tuple[str]) -> str | None:
    found = connection.execute("SELECT trace_id FROM trace_ids WHERE key = ?", row).fetchone()
    return None if found is None else str(found[0])


_Row = TypeVar("_Row", bound=tuple[object, ...])
_Result = TypeVar("_Result")


def _run(
    path: str, operation: Callable[[sqlite3.Connection, _Row], _Result], row: _Row
) -> _Result | None:
    """``operation`` on the map's file at ``path``; None (logged once) on any failure."""
    import sqlite3  # lazy: only the processes that use the map pay for loading SQLite

    try:
        refusal = _refusal(path)
        if refusal is None:
            # Autocommit: the transactions are explicit (_transaction).
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            try:
                refusal = _prepare(connection)
                if refusal is None:
                    return operation(connection, row)
            finally:
                connection.close()
    except (sqlite3.Error, OSError) as error:
        refusal = f"{type(error).__name__}: {error}"
    if STATE.first_time(("trace id store", path)):
        _logger.warning("ragtel: the trace id map %r is not used: %s", path, refusal)
    return None


def _refusal(path: str) -> str | None:
    """Why ``path`` is not ragtel's to open, or None: missing, or a regular SQLite file."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    try:
        check_kind(status, path)  # the rule ragtel's traces files follow: no link, a regular file
    except ForeignFileError as refused:
        return str(refused)
    if status.st_size == 0:
        return None
    with open(path, "rb") as file:
        head = file.read(len(_SQLITE_MAGIC))
    return None if head == _SQLITE_MAGIC else "it is not an SQLite database"


def _prepare(connection: sqlite3.Connection) -> str | None:
    """Create the table in a new database; refuse a database another program made."""
    if connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
        return None
    with _transaction(connection):
        # Read again under the write lock: another process may have just created it.
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        if application_id == APPLICATION_ID:
            return None
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if application_id != 0 or tables:
            return "it is another program's SQLite database"
        connection.execute(_SCHEMA)
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return None
