"""The batching processor: bounded queue, counted drops, bounded flush and shutdown, fork."""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from ragtel import get_lastmile_tracer
from ragtel._config import BatchConfig
from ragtel._sdk.batching import CountingBatchSpanProcessor


class GatedExporter(SpanExporter):
    """A real exporter that keeps what it gets, and can be made to stall or fail."""

    def __init__(self, *, fail: bool = False) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.fail = fail
        self.received: list[str] = []
        self.spans: list[ReadableSpan] = []
        self.shutdown_called = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.gate.wait()
        if self.fail:
            return SpanExportResult.FAILURE
        self.received.extend(span.name for span in spans)
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.shutdown_called = True
        self.gate.set()


def provider_with(processor: CountingBatchSpanProcessor) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider


def emit(provider: TracerProvider, count: int) -> None:
    tracer = provider.get_tracer("t")
    for i in range(count):
        tracer.start_span(f"s{i}").end()


def test_everything_is_exported_in_batches_on_flush() -> None:
    exporter = GatedExporter()
    processor = CountingBatchSpanProcessor(
        exporter, BatchConfig(max_export_batch_size=7), label="test"
    )
    emit(provider_with(processor), 100)
    assert processor.force_flush(5_000)
    assert sorted(exporter.received) == sorted(f"s{i}" for i in range(100))
    assert processor.exported == 100 and processor.drop_counts().total == 0
    processor.shutdown()


def test_a_full_queue_drops_counts_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ragtel")
    exporter = GatedExporter()
    exporter.gate.clear()  # the exporter stalls: nothing leaves the queue
    config = BatchConfig(max_queue_size=10, max_export_batch_size=5, schedule_delay_millis=10)
    processor = CountingBatchSpanProcessor(exporter, config, label="test")
    emit(provider_with(processor), 100)
    drops = processor.drop_counts().queue_full
    # The worker may have taken one batch of 5 before stalling.
    assert 85 <= drops <= 90
    assert any(
        "spans dropped" in r.getMessage() and "queue full" in r.getMessage() for r in caplog.records
    )
    exporter.gate.set()
    assert processor.force_flush(5_000)
    assert len(exporter.received) == 100 - drops
    processor.shutdown()


def test_failed_exports_are_counted_as_drops() -> None:
    exporter = GatedExporter(fail=True)
    processor = CountingBatchSpanProcessor(
        exporter, BatchConfig(max_export_batch_size=10), label="test"
    )
    emit(provider_with(processor), 25)
    processor.force_flush(5_000)
    assert processor.drop_counts().export_failed == 25
    assert processor.exported == 0
    processor.shutdown()


def test_shutdown_is_bounded_by_the_export_timeout_when_the_exporter_stalls() -> None:
    class StuckExporter(GatedExporter):
        def shutdown(self) -> None:  # does not release the gate: the export stays stuck
            self.shutdown_called = True

    exporter = StuckExporter()
    exporter.gate.clear()
    config = BatchConfig(
        max_export_batch_size=1, export_timeout_millis=500, schedule_delay_millis=10
    )
    processor = CountingBatchSpanProcessor(exporter, config, label="test")
    emit(provider_with(processor), 5)
    time.sleep(0.05)  # let the worker enter the stuck export
    started = time.monotonic()
    processor.shutdown()
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, elapsed
    assert exporter.shutdown_called
    assert processor.drop_counts().after_shutdown >= 3
    exporter.gate.set()


def test_spans_after_shutdown_are_counted() -> None:
    exporter = GatedExporter()
    processor = CountingBatchSpanProcessor(exporter, BatchConfig(), label="test")
    provider = provider_with(processor)
    processor.shutdown()
    emit(provider, 3)
    assert processor.drop_counts().after_shutdown == 3
    assert processor.force_flush() is True  # nothing held, nothing to wait for


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_exports_its_own_spans(tmp_path) -> None:  # type: ignore[no-untyped-def]
    exporter = GatedExporter()
    processor = CountingBatchSpanProcessor(
        exporter, BatchConfig(schedule_delay_millis=10), label="test"
    )
    provider = provider_with(processor)
    emit(provider, 1)
    result = tmp_path / "child.txt"
    pid = os.fork()
    if pid == 0:  # child
        try:
            provider.get_tracer("t").start_span("from-child").end()
            ok = processor.force_flush(5_000)
            result.write_text(f"{ok} {','.join(exporter.received)}")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    ok, names = result.read_text().split(" ")
    assert ok == "True"
    assert names.split(",")[-1] == "from-child"
    processor.force_flush(5_000)
    assert "from-child" not in exporter.received
    processor.shutdown()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_ragtel_locks_are_held_does_not_hang_the_child(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ragtel import get_lastmile_tracer
    from ragtel._tracer import tracer_core

    target = tmp_path / "forked.jsonl"
    tracer = get_lastmile_tracer("forky", output_filepath=target, project_name="p")
    installation = tracer_core(tracer).installation
    assert installation is not None
    [file_processor] = installation.exporters.values()
    locks = [
        file_processor.exporter._file._lock,
        installation.processor._lock,
        file_processor._lock,
    ]  # type: ignore[attr-defined]
    held, release = threading.Event(), threading.Event()

    def hold_locks() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait()
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold_locks)
    holder.start()
    held.wait()
    pid = os.fork()
    if pid == 0:  # child: every lock above is "held" by a thread that does not exist here
        status = 1
        try:
            with tracer.start_as_current_span("from-child"):
                pass
            status = 0 if tracer.force_flush(5_000) else 2
            tracer.shutdown()
        finally:
            os._exit(status)
    release.set()
    holder.join()
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on a lock inherited from its parent")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert '"from-child"' in target.read_text()


def test_a_span_name_that_cannot_be_encoded_does_not_lose_its_batch(tmp_path: Path) -> None:
    # Lone surrogates passed straight to the OTel API made the encoder refuse the whole batch.
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("surrogates", output_filepath=path, set_global=False)
    for name in ("before", "broken \udcff name", "after"):
        with tracer.start_as_current_span(name) as span:
            span.add_event("event \ud800")
            span.set_status(Status(StatusCode.ERROR, "message \udfff"))
    assert tracer.force_flush(5_000)

    assert tracer.dropped_span_count() == 0
    spans = [
        span
        for line in path.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    assert [s["name"] for s in spans] == ["before", "broken \\udcff name", "after"]
    assert {s["status"]["message"] for s in spans} == {"message \\udfff"}
    assert {e["name"] for s in spans for e in s["events"]} == {"event \\ud800"}


class _BrokenZone(datetime.tzinfo):
    """A time zone whose offset raises: accepted by ``Span.end``, fatal when read."""

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        raise RuntimeError("no offset")

    def dst(self, dt: datetime.datetime | None) -> None:
        return None


class _BrokenAttributes(dict[str, str]):
    """Attributes whose reading raises: only a span built by hand can hold them."""

    def items(self) -> Any:
        raise RuntimeError("unreadable")


def test_a_span_whose_values_raise_loses_only_itself_and_the_worker_goes_on() -> None:
    exporter = GatedExporter()
    processor = CountingBatchSpanProcessor(exporter, BatchConfig(), label="test")
    provider = provider_with(processor)
    tracer = provider.get_tracer("t")
    tracer.start_span("before").end()
    hostile_end = datetime.datetime(2024, 1, 1, tzinfo=_BrokenZone())
    tracer.start_span("end-zone-raises").end(end_time=hostile_end)  # type: ignore[arg-type]
    context = SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    processor.on_end(ReadableSpan("attributes-raise", context, attributes=_BrokenAttributes(a="b")))
    tracer.start_span("after").end()
    assert processor.force_flush(5_000)
    tracer.start_span("later").end()
    assert processor.force_flush(5_000)

    assert exporter.received == ["before", "end-zone-raises", "after", "later"]
    kept = exporter.spans[1]
    assert kept.start_time is not None
    assert kept.end_time == kept.start_time  # the end it could not read: a zero duration
    assert processor.drop_counts().unencodable == 1
    assert processor._worker.is_alive()
    provider.shutdown()


def test_a_flush_during_shutdown_waits_for_the_drain_and_says_whether_it_finished() -> None:
    exporter = GatedExporter()
    exporter.gate.clear()
    config = BatchConfig(export_timeout_millis=10_000, schedule_delay_millis=10)
    processor = CountingBatchSpanProcessor(exporter, config, label="test")
    emit(provider_with(processor), 3)
    time.sleep(0.05)  # let the worker enter the held export
    stopping = threading.Thread(target=processor.shutdown)
    stopping.start()
    time.sleep(0.05)
    assert processor.force_flush(200) is False  # still draining
    exporter.gate.set()
    assert processor.force_flush(5_000) is True
    assert exporter.received == ["s0", "s1", "s2"]
    stopping.join(5)
    assert processor.force_flush(0) is True  # stopped: nothing held


def test_the_exporter_layer_does_not_load_the_processor_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ragtel._sdk.otlp_exporters, ragtel._sdk.exporters\n"
        "print('ragtel._sdk.batching' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_the_export_thread_survives_a_fault_outside_the_export_and_reports_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class FaultyExporter(GatedExporter):
        @property
        def last_export_too_large(self) -> bool:  # read by the processor after a failure
            raise RuntimeError("broken exporter")

    caplog.set_level(logging.WARNING, logger="ragtel")
    exporter = FaultyExporter(fail=True)
    processor = CountingBatchSpanProcessor(exporter, BatchConfig(), label="test")
    provider = provider_with(processor)
    emit(provider, 2)
    assert processor.force_flush(5_000)
    exporter.fail = False
    emit(provider, 2)
    assert processor.force_flush(5_000)

    assert exporter.received == ["s0", "s1"]  # the second round, after the fault
    assert processor._worker.is_alive()
    assert caplog.text.count("export thread met an unexpected RuntimeError") == 1
    provider.shutdown()
