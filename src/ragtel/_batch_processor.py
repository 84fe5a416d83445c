"""A batching span processor that counts what it loses and says so.

It follows the SDK's ``BatchSpanProcessor`` contract, and adds what a tracing
library inside someone else's service needs:

* every dropped span is counted, by reason (queue full, export failed,
  shut down), and a warning with the counts is logged — at most once per
  interval while drops go on, and once more at shutdown;
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
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

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
        self._is_shutdown = False
        self._abandoned = False
        self._in_flight = 0
        self._queue_full = 0
        self._export_failed = 0
        self._after_shutdown = 0
        self._exported = 0
        self._reported_total = 0
        self._last_warning = 0.0
        self._init_thread_state()
        if hasattr(os, "register_at_fork"):
            weak_reinit = weakref.WeakMethod(self._reinit_after_fork)

            def _after_fork_in_child() -> None:
                reinit = weak_reinit()
                if reinit is not None:
                    reinit()

            os.register_at_fork(after_in_child=_after_fork_in_child)

    def _init_thread_state(self) -> None:
        # Everything a forked child must not inherit from its parent's threads.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._flush_requests: list[threading.Event] = []
        self._worker = threading.Thread(
            target=self._run, name=f"ragtel-export-{self._label}", daemon=True
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
        """Have the export thread send everything queued; False if the timeout passed first."""
        if self._is_shutdown:
            # Stopped, and it stays registered on the provider (the SDK cannot
            # remove it): it holds nothing, so it must not fail the provider's flush.
            return True
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

    # Internals ---------------------------------------------------------

    def _reinit_after_fork(self) -> None:
        # The parent's queued spans belong to the parent; the child exports its own.
        self._queue.clear()
        if not self._is_shutdown:
            self._init_thread_state()
        else:
            self._lock = threading.Lock()

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
            self._export_queued()
            for request in requests:
                request.set()
            if stopping:
                return

    def _export_queued(self) -> None:
        while self._queue and not self._abandoned:
            self._export(self._take_batch())
        self._report_drops(final=False)

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
        self._in_flight = len(batch)
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self._exporter.export([encodable(span) for span in batch])
        except Exception:  # an exporter bug must not kill the worker
            _logger.exception("ragtel: %s exporter raised while exporting", self._label)
            result = SpanExportResult.FAILURE
        finally:
            detach(token)
        with self._lock:
            if self._abandoned:
                return  # shutdown already counted this batch
            self._in_flight = 0
        if result is SpanExportResult.SUCCESS:
            self._exported += len(batch)
        else:
            self._count_drop("export_failed", len(batch))

    def _count_drop(self, reason: str, count: int) -> None:
        with self._lock:
            if reason == "queue_full":
                self._queue_full += count
            elif reason == "export_failed":
                self._export_failed += count
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
            "(queue full: %d, export failed: %d, after shutdown: %d); "
            "queue size %d, see OTEL_BSP_MAX_QUEUE_SIZE",
            counts.total,
            self._label,
            counts.queue_full,
            counts.export_failed,
            counts.after_shutdown,
            self._config.max_queue_size,
        )


def encodable(span: ReadableSpan) -> ReadableSpan:
    """``span``, or a copy whose name, status message and event names can be encoded.

    Text passed straight to the OpenTelemetry API (a span name, an exception
    message that became the status) may hold lone surrogates, left by a
    broken decoding upstream. The OTLP encoder then refuses the whole batch,
    up to a thousand spans, so such text is escaped here, on the export
    thread; a span with nothing to escape is passed on as it is.
    """
    description = span.status.description
    if (
        _encodes(span.name)
        and (description is None or _encodes(description))
        and all(_encodes(event.name) for event in span.events)
    ):
        return span
    return ReadableSpan(
        name=_escaped(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=[
            Event(_escaped(event.name), event.attributes, event.timestamp) for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, _escaped(description))
        if description is not None
        else span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _encodes(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
