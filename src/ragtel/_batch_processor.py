"""A batching span processor that counts what it loses and says so.

It follows the SDK's ``BatchSpanProcessor`` contract, and adds what a tracing
library inside someone else's service needs:

* every dropped span is counted, by reason (queue full, export failed,
  shut down), and a warning with the counts is logged — at most once per
  interval while drops go on, and once more at shutdown;
* ``force_flush`` and ``shutdown`` honour their timeouts, so an unreachable
  collector cannot hold the app's exit longer than configured;
* the queue is bounded, so memory is bounded;
* after ``fork()`` the child starts a fresh worker with an empty queue.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Final

from opentelemetry.context import (
    _SUPPRESS_INSTRUMENTATION_KEY,
    Context,
    attach,
    detach,
    set_value,
)
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ragtel._config import BatchConfig, DropCounts

_logger = logging.getLogger("ragtel")

_WARN_INTERVAL_SECONDS: Final = 10.0


class CountingBatchSpanProcessor(SpanProcessor):
    """Batch spans to ``exporter`` on a background thread, counting every drop."""

    def __init__(self, exporter: SpanExporter, config: BatchConfig, *, label: str) -> None:
        self._exporter = exporter
        self._config = config
        self._label = label
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._export_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self._wake = threading.Event()
        self._is_shutdown = False
        self._queue_full = 0
        self._export_failed = 0
        self._after_shutdown = 0
        self._exported = 0
        self._reported_total = 0
        self._last_warning = 0.0
        self._pid = os.getpid()
        self._worker = self._start_worker()
        if hasattr(os, "register_at_fork"):
            weak_self = weakref.WeakMethod(self._reinit_after_fork)

            def _after_fork_in_child() -> None:
                reinit = weak_self()
                if reinit is not None:
                    reinit()

            os.register_at_fork(after_in_child=_after_fork_in_child)

    @property
    def exporter(self) -> SpanExporter:
        return self._exporter

    @property
    def exported(self) -> int:
        """Spans the exporter accepted so far."""
        return self._exported

    def drop_counts(self) -> DropCounts:
        return DropCounts(self._queue_full, self._export_failed, self._after_shutdown)

    # SpanProcessor -----------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if not span.context.trace_flags.sampled:
            return
        if self._is_shutdown:
            self._count_drop("after_shutdown", 1)
            return
        if len(self._queue) >= self._config.max_queue_size:
            self._count_drop("queue_full", 1)
            return
        self._queue.append(span)
        if len(self._queue) >= self._config.max_export_batch_size:
            self._wake.set()

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        """Export everything queued; False if the deadline passed first."""
        if self._is_shutdown:
            return False
        return self._drain(self._deadline(timeout_millis))

    def shutdown(self) -> None:
        if self._is_shutdown:
            return
        deadline = self._deadline(None)
        self._is_shutdown = True
        self._wake.set()
        if self._worker.is_alive() and self._worker is not threading.current_thread():
            self._worker.join(max(deadline - time.monotonic(), 0))
        self._drain(deadline)
        leftover = len(self._queue)
        if leftover:
            self._queue.clear()
            self._count_drop("after_shutdown", leftover)
        try:
            self._exporter.shutdown()
        except Exception:  # shutdown must complete for the app to exit
            _logger.exception("ragtel: %s exporter failed to shut down", self._label)
        self._report_drops(final=True)

    # Internals ---------------------------------------------------------

    def _start_worker(self) -> threading.Thread:
        worker = threading.Thread(
            target=self._run, name=f"ragtel-export-{self._label}", daemon=True
        )
        worker.start()
        return worker

    def _reinit_after_fork(self) -> None:
        # The parent's queued spans belong to the parent; the child exports its own.
        self._queue.clear()
        self._export_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = os.getpid()
        if not self._is_shutdown:
            self._worker = self._start_worker()

    def _run(self) -> None:
        delay = self._config.schedule_delay_millis / 1000
        while not self._is_shutdown:
            self._wake.wait(delay)
            self._wake.clear()
            if self._is_shutdown:
                break
            self._drain(None)

    def _deadline(self, timeout_millis: int | None) -> float:
        millis = self._config.export_timeout_millis if timeout_millis is None else timeout_millis
        return time.monotonic() + millis / 1000

    def _drain(self, deadline: float | None) -> bool:
        """Export queued spans in batches until empty (or past ``deadline``)."""
        # Another thread may be inside a slow export (a collector that is down);
        # waiting for it must not outlast the caller's deadline.
        wait = -1.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not self._export_lock.acquire(timeout=wait):
            return False
        try:
            while self._queue:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._export(self._take_batch())
        finally:
            self._export_lock.release()
        self._report_drops(final=False)
        return True

    def _take_batch(self) -> list[ReadableSpan]:
        batch: list[ReadableSpan] = []
        limit = self._config.max_export_batch_size
        while len(batch) < limit:
            try:
                batch.append(self._queue.popleft())
            except IndexError:
                break
        return batch

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        # Exporting must not create spans of its own (HTTP client instrumentation).
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self._exporter.export(batch)
        except Exception:  # an exporter bug must not kill the worker
            _logger.exception("ragtel: %s exporter raised while exporting", self._label)
            result = SpanExportResult.FAILURE
        finally:
            detach(token)
        if result is SpanExportResult.SUCCESS:
            self._exported += len(batch)
        else:
            self._count_drop("export_failed", len(batch))

    def _count_drop(self, reason: str, count: int) -> None:
        with self._counts_lock:
            if reason == "queue_full":
                self._queue_full += count
            elif reason == "export_failed":
                self._export_failed += count
            else:
                self._after_shutdown += count
        if reason != "after_shutdown":
            self._report_drops(final=False)

    def _report_drops(self, *, final: bool) -> None:
        counts = self.drop_counts()
        now = time.monotonic()
        with self._counts_lock:
            if counts.total == self._reported_total:
                return
            if not final and now - self._last_warning < _WARN_INTERVAL_SECONDS:
                return
            self._reported_total = counts.total
            self._last_warning = now
        _logger.warning(
            "ragtel: %d spans dropped so far by the %s exporter "
            "(queue full: %d, export failed: %d, after shutdown: %d); "
            "queue size %d, see OTEL_BSP_MAX_QUEUE_SIZE",
            counts.total,
            self._label,
            counts.queue_full,
            counts.export_failed,
            counts.after_shutdown,
            self._config.max_queue_size,
        )
