"""Per-trace state: trace-level attributes reach the local root, state is bounded and released."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from ragtel._config import CaptureConfig
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._sdk.tracer_profile import TracerProfile
from ragtel.testing import SpanRecorder


def test_root_started_by_another_instrumentation_gets_the_attributes(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer("rag", project_name="bot", initial_params={"top_k": 3})
    framework = ragtel_spans.provider.get_tracer("web-framework")
    with framework.start_as_current_span("POST /ask"):
        with tracer.start_as_current_span("retrieve"):
            pass
        with tracer.start_as_current_span("generate"):
            pass
    root = ragtel_spans.by_name("POST /ask")
    assert root.attributes["ragtel.project.name"] == "bot"
    assert root.attributes["ragtel.param.top_k"] == 3
    assert "ragtel.project.name" not in ragtel_spans.by_name("retrieve").attributes


def test_trace_without_ragtel_spans_is_left_alone(ragtel_spans: SpanRecorder) -> None:
    ragtel_spans.tracer("rag", project_name="bot")
    with ragtel_spans.provider.get_tracer("other").start_as_current_span("plain"):
        pass
    assert dict(ragtel_spans.by_name("plain").attributes) == {}


def test_state_is_released_when_the_local_root_ends(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("rag", project_name="bot")
    processor = next(
        p
        for p in ragtel_spans.provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        if isinstance(p, RagtelSpanProcessor)
    )
    for _ in range(100):
        with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
            assert processor.tracked_traces == 1
    assert processor.tracked_traces == 0


def test_tracked_traces_are_bounded_and_eviction_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ragtel")
    processor = RagtelSpanProcessor(max_traces=10)
    processor.register_tracer(
        TracerProfile("leaky", root_attributes={}, defaults={}, capture=CaptureConfig())
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("leaky")
    never_ended = [tracer.start_span(f"open-{i}") for i in range(25)]
    assert processor.tracked_traces == 10
    assert processor.evicted_traces == 15
    assert "more than 10 traces are open at once" in caplog.text
    for span in never_ended:
        span.end()
    assert processor.tracked_traces == 0


def test_context_from_a_headers_mapping_is_lenient(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("upstream"):
        headers = tracer.get_distributed_trace_headers()
    with tracer.start_as_current_span("downstream", context=headers):
        pass
    with tracer.start_as_current_span("garbage-headers", context={"traceparent": "nonsense"}):
        pass
    upstream, downstream = ragtel_spans.by_name("upstream"), ragtel_spans.by_name("downstream")
    assert downstream.parent.span_id == upstream.context.span_id
    assert ragtel_spans.by_name("garbage-headers").parent is None


def test_output_filepaths_says_where_spans_go(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ragtel import get_lastmile_tracer

    tracer = get_lastmile_tracer("files", output_filepath=tmp_path / "a.jsonl")
    assert tracer.output_filepaths == [str(tmp_path / "a.jsonl")]
    assert isinstance(trace.get_tracer_provider(), TracerProvider)


def test_nothing_is_tracked_on_a_provider_without_ragtel_tracers() -> None:
    processor = RagtelSpanProcessor()
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer("other").start_as_current_span("root"):
        assert processor.tracked_traces == 0


def test_header_names_are_case_insensitive(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("upstream") as upstream:
        headers = tracer.get_distributed_trace_headers()
    for variant in (
        {"Traceparent": headers["traceparent"]},
        {"TRACEPARENT": headers["traceparent"]},
    ):
        with tracer.start_as_current_span("downstream", context=variant):
            pass
    downstream = [span for span in ragtel_spans.spans if span.name == "downstream"]
    assert [span.parent.span_id for span in downstream] == [upstream.get_span_context().span_id] * 2


def test_spans_ending_while_a_collected_root_is_purged_raise_nothing() -> None:
    # A root dropped without end() is purged on a later span start, while its
    # children keep ending (and starting) in other threads: the purge must not
    # iterate the trace's spans as they change.
    processor = RagtelSpanProcessor()
    processor.register_tracer(
        TracerProfile("racy", root_attributes={}, defaults={}, capture=CaptureConfig())
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("racy")
    errors: list[BaseException] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    deadline = time.monotonic() + 1.0
    try:
        while time.monotonic() < deadline and not errors:
            root = tracer.start_span("dropped-root")
            parent = trace.set_span_in_context(trace.NonRecordingSpan(root.get_span_context()))
            children = [tracer.start_span("child", context=parent) for _ in range(300)]
            del root
            gc.collect()  # the root is gone, never ended: queued for the purge

            def churn(children: list[Any] = children, parent: Any = parent) -> None:
                try:
                    for child in children:
                        child.end()
                        tracer.start_span("late-child", context=parent).end()
                except BaseException as error:  # noqa: BLE001 - reported below
                    errors.append(error)

            worker = threading.Thread(target=churn)
            worker.start()
            try:
                for _ in range(20):
                    tracer.start_span("trigger").end()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
@pytest.mark.parametrize(
    "lock",
    [
        "tracers_lock",
        "providers_lock",
        "processors_lock",
        "propagation_lock",
        "secrets_lock",
        "log_files_lock",
        "warnings_lock",
    ],
)
def test_process_state_locks_held_at_fork_are_free_in_the_child(lock: str) -> None:
    # Held by a parent thread at fork(), a lock stays held in the child: its
    # first new tracer (or enabled propagation, or a warning) would hang there.
    script = textwrap.dedent(
        f"""
        import os, sys, threading
        from ragtel._state import STATE as module
        held, release = threading.Event(), threading.Event()

        def holder():
            with getattr(module, {lock!r}):
                held.set()
                release.wait()

        thread = threading.Thread(target=holder)
        thread.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            os._exit(0 if getattr(module, {lock!r}).acquire(timeout=5) else 3)
        release.set()
        thread.join()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert result.returncode == 0
