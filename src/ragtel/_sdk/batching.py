"""A batching span processor that counts what it loses and says so.

It follows the SDK's ``BatchSpanProcessor`` contract, and adds what a tracing
library inside someone else's service needs:

* every dropped span is counted, by reason (queue full, export failed,
  shut down, too large, unencodable), and a warning with the counts is
  logged — at most once per interval while drops go on, and once more at
  shutdown;
* each span is checked on its own before it joins a request, so one span
  the OTLP encoder would refuse cannot lose the others
  (:mod:`ragtel._sdk.span_prepare`);
* each request is bounded by its estimated encoded size as well as by its
  span count, and a request the collector refuses as too large is sent again
  in halves, down to single spans;
* exports run only on the processor's own thread; ``force_flush`` and
  ``shutdown`` wait for it at most their timeout, so an unreachable collector
  (whose exporter may retry for many seconds) cannot hold the app longer than
  configured;
* the queue is bounded, so memory is bounded;
* after ``fork()`` the child starts a fresh worker with an empty queue.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Final

from opentelemetry.context import (
    _SUPPRESS_INSTRUMENTATION_KEY,
    Context,
    attach,
    detach,
    set_value,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ragtel import _environment as env
from ragtel._config import EXPORT_THREAD_PREFIX, BatchConfig, DropCounts
from ragtel._sdk.span_prepare import prepare, resource_size
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")

_WARN_INTERVAL_SECONDS: Final = 10.0


class CountingBatchSpanProcessor(SpanProcessor):
    """Batch spans to ``exporter`` on a background thread, counting every drop."""

    def __init__(self, exporter: SpanExporter, config: BatchConfig, *, label: str) -> None:
        self._exporter = exporter
        self._config = config
        self._label = label
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._is_shutdown = False
        self._abandoned = False
        self._in_flight = 0
        self._queue_full = 0
        self._export_failed = 0
        self._after_shutdown = 0
        self._too_large = 0
        self._unencodable = 0
        self._repair_reported = False
        self._split_reported = False
        self._fault_reported = False
        self._exported = 0
        self._reported_total = 0
        self._last_warning = 0.0
        self._init_thread_state()
        STATE.reinit_in_child(self)

    def _init_thread_state(self) -> None:
        # Everything a forked child must not inherit from its parent's threads.
        self._lock = threading.Lock()
        self._stopped = threading.Event()  # set when shutdown has drained and returned
        self._wake = threading.Event()
        self._flush_requests: list[threading.Event] = []
        self._worker = threading.Thread(
            target=self._run, name=f"{EXPORT_THREAD_PREFIX}{self._label}", daemon=True
        )
        self._worker.start()

    @property
    def exporter(self) -> SpanExporter:
        return self._exporter

    @property
    def config(self) -> BatchConfig:
        return self._config

    @property
    def label(self) -> str:
        return self._label

    @property
    def exported(self) -> int:
        """Spans the exporter accepted so far."""
        return self._exported

    def drop_counts(self) -> DropCounts:
        return DropCounts(
            self._queue_full,
            self._export_failed,
            self._after_shutdown,
            self._too_large,
            self._unencodable,
        )

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
        """Have the export thread send everything queued; False if the timeout passed first."""
        if self._is_shutdown:
            # Once stopped it stays registered on the provider (the SDK cannot
            # remove it) and holds nothing, so it must not fail the provider's
            # flush; while shutdown still drains, the flush waits for that drain.
            return self._stopped.wait(self._seconds(timeout_millis))
        done = threading.Event()
        with self._lock:
            self._flush_requests.append(done)
        self._wake.set()
        return done.wait(self._seconds(timeout_millis))

    def shutdown(self) -> None:
        """Export what is queued, then stop; never longer than the export timeout."""
        with self._lock:
            if self._is_shutdown:
                return
            self._is_shutdown = True
        deadline = time.monotonic() + self._seconds(None)
        self._wake.set()
        if self._worker is not threading.current_thread():
            self._worker.join(max(deadline - time.monotonic(), 0))
        if self._worker.is_alive():
            # Stuck in an export: stop draining, let the exporter abort its retries,
            # and count the batch in flight now (its late result is then ignored).
            with self._lock:
                self._abandoned = True
                in_flight, self._in_flight = self._in_flight, 0
            self._count_drop("after_shutdown", in_flight)
        try:
            self._exporter.shutdown()
        except Exception:  # shutdown must complete for the app to exit
            _logger.exception("ragtel: %s exporter failed to shut down", self._label)
        leftover = len(self._queue)
        if leftover:
            self._queue.clear()
            self._count_drop("after_shutdown", leftover)
        self._report_drops(final=True)
        self._stopped.set()

    # Internals ---------------------------------------------------------

    def reinit_after_fork(self) -> None:
        """In a forked child: a fresh worker and lock, and an empty queue."""
        # The parent's queued spans belong to the parent; the child exports its own.
        self._queue.clear()
        if not self._is_shutdown:
            self._init_thread_state()
        else:
            self._lock = threading.Lock()
            self._stopped = threading.Event()
            self._stopped.set()  # the parent's drain is the parent's; the child holds nothing

    def _seconds(self, timeout_millis: int | None) -> float:
        millis = self._config.export_timeout_millis if timeout_millis is None else timeout_millis
        return max(millis, 0) / 1000

    def _run(self) -> None:
        delay = self._config.schedule_delay_millis / 1000
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            with self._lock:
                requests, self._flush_requests = self._flush_requests, []
                stopping = self._is_shutdown
            try:
                self._export_queued()
            except Exception as error:  # noqa: BLE001 - the only export thread must not die
                self._report_fault(error)
            for request in requests:
                request.set()
            if stopping:
                return

    def _export_queued(self) -> None:
        while self._queue and not self._abandoned:
            batch = self._take_batch()
            if batch:
                self._export(batch)
        self._report_drops(final=False)

    def _take_batch(self) -> list[ReadableSpan]:
        """The next request: up to the batch size in spans and the byte bound in estimated size.

        Each span is prepared for encoding here, on the export thread: the
        app's threads only queue it.
        """
        batch: list[ReadableSpan] = []
        limit = self._config.max_export_batch_size
        budget = self._config.max_export_batch_bytes
        used = 0
        resource: Resource | None = None
        while len(batch) < limit:
            try:
                span = self._queue.popleft()
            except IndexError:
                break
            try:
                ready, size = prepare(span)
                if ready is not None and ready.resource is not resource:
                    size += resource_size(ready.resource)
                    resource = ready.resource
            except Exception:  # noqa: BLE001 - its values' own methods may raise
                ready, size = None, 0
            if ready is None:
                self._count_drop("unencodable", 1)
                continue
            if ready is not span:
                self._report_repair()
            if batch and used + size > budget:
                # The first span of the next request (prepared again then: it is cheap).
                self._queue.appendleft(span)
                break
            batch.append(ready)
            used += size
        return batch

    def _export(self, batch: list[ReadableSpan]) -> None:
        """Send ``batch``; a part refused as too large is sent again in halves."""
        self._in_flight = len(batch)
        pending = [batch]
        while pending:
            part = pending.pop()
            result, too_large = self._send(part)
            with self._lock:
                if self._abandoned:
                    return  # shutdown already counted what was in flight
                if not (too_large and len(part) > 1):
                    self._in_flight -= len(part)
            if result is SpanExportResult.SUCCESS:
                self._exported += len(part)
            elif too_large and len(part) > 1:
                self._report_split(len(part))
                middle = len(part) // 2
                pending += (part[middle:], part[:middle])  # the first half goes first
            elif too_large:
                self._count_drop("too_large", 1)
            else:
                self._count_drop("export_failed", len(part))

    def _send(self, part: list[ReadableSpan]) -> tuple[SpanExportResult, bool]:
        """The exporter's result, and whether the collector refused ``part`` as too large."""
        # Exporting must not create spans of its own (HTTP client instrumentation).
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self._exporter.export(part)
        except Exception:  # an exporter bug must not kill the worker
            _logger.exception("ragtel: %s exporter raised while exporting", self._label)
            result = SpanExportResult.FAILURE
        finally:
            detach(token)
        # Set by the OTLP exporters ragtel builds (ragtel._sdk.otlp_exporters).
        too_large = result is not SpanExportResult.SUCCESS and (
            getattr(self._exporter, "last_export_too_large", False) is True
        )
        return result, too_large

    def _report_repair(self) -> None:
        if self._repair_reported:
            return
        self._repair_reported = True
        _logger.warning(
            "ragtel: a span held values the OTLP encoder refuses (a timestamp given as a "
            "datetime or float, text with lone surrogates, an integer wider than 64 bits, "
            "...) or a secret in an exception text the SDK recorded; they were repaired "
            "(the secret masked) before export to the %s exporter. Reported once",
            self._label,
        )

    def _report_fault(self, error: Exception) -> None:
        # Reported once: a fault that repeats on every wake-up must not flood the app's log.
        if self._fault_reported:
            return
        self._fault_reported = True
        _logger.warning(
            "ragtel: the %s export thread met an unexpected %s and carries on; "
            "spans of that round may be lost. Reported once",
            self._label,
            type(error).__name__,
        )

    def _report_split(self, count: int) -> None:
        if self._split_reported:
            return
        self._split_reported = True
        _logger.warning(
            "ragtel: the collector refused a request of %d spans as too large; sending it "
            "again in smaller requests. Lower %s (now %d bytes) to avoid the extra requests. "
            "Reported once",
            count,
            env.RAGTEL_MAX_EXPORT_BATCH_BYTES,
            self._config.max_export_batch_bytes,
        )

    def _count_drop(self, reason: str, count: int) -> None:
        with self._lock:
            if reason == "queue_full":
                self._queue_full += count
            elif reason == "export_failed":
                self._export_failed += count
            elif reason == "too_large":
                self._too_large += count
            elif reason == "unencodable":
                self._unencodable += count
            else:
                self._after_shutdown += count
        if reason != "after_shutdown":
            self._report_drops(final=False)

    def _report_drops(self, *, final: bool) -> None:
        now = time.monotonic()
        with self._lock:
            counts = self.drop_counts()
            if counts.total == self._reported_total:
                return
            if not final and now - self._last_warning < _WARN_INTERVAL_SECONDS:
                return
            self._reported_total = counts.total
            self._last_warning = now
        _logger.warning(
            "ragtel: %d spans dropped so far by the %s exporter "
            "(queue full: %d, export failed: %d, after shutdown: %d, too large: %d, "
            "unencodable: %d); queue size %d, see OTEL_BSP_MAX_QUEUE_SIZE",
            counts.total,
            self._label,
            counts.queue_full,
            counts.export_failed,
            counts.after_shutdown,
            counts.too_large,
            counts.unencodable,
            self._config.max_queue_size,
        )
