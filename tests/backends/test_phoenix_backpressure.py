"""Backpressure from a real collector: Arize Phoenix with a full span queue.

Phoenix answers export requests with HTTP 503 (gRPC ``UNAVAILABLE``) while its
queue of spans waiting for the database is full. With a queue of one span,
every request that arrives before Phoenix has stored the previous one is
refused, so each scenario below meets real pushback many times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from phoenix_server import PROJECT_RESOURCE_ATTRIBUTE, PhoenixServer
from ragtel import get_lastmile_tracer
from ragtel._tracer import LastMileTracer

SPANS = 100

# busy_phoenix starts a Phoenix server of its own, outside the phoenix fixture.
pytestmark = pytest.mark.phoenix


@pytest.fixture(scope="module")
def busy_phoenix() -> Iterator[PhoenixServer]:
    with PhoenixServer(settings={"PHOENIX_MAX_SPANS_QUEUE_SIZE": "1"}) as server:
        yield server


def pushed_back_tracer(
    phoenix: PhoenixServer,
    protocol: str,
    project: str,
    timeout: float,
    monkeypatch: pytest.MonkeyPatch,
) -> LastMileTracer:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"{PROJECT_RESOURCE_ATTRIBUTE}={project}")
    # Small batches sent back to back: each request finds the previous one still queued.
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20")
    http = protocol == "http/protobuf"
    endpoint = phoenix.otlp_http_endpoint if http else phoenix.otlp_grpc_endpoint
    return get_lastmile_tracer(
        project,
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
        otlp_timeout=timeout,
        set_global=False,
    )


def make_spans(tracer: LastMileTracer) -> None:
    for index in range(SPANS):
        with tracer.start_as_current_span("work") as span:
            span.set_attribute("app.index", index)


def retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Transient error" in r.getMessage()]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_pushback_is_retried_with_backoff_until_every_span_lands(
    busy_phoenix: PhoenixServer,
    protocol: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    project = f"retried-{protocol.split('/')[0]}"
    tracer = pushed_back_tracer(busy_phoenix, protocol, project, 30, monkeypatch)

    started = time.monotonic()
    make_spans(tracer)
    app_seconds = time.monotonic() - started
    assert tracer.force_flush(60_000)

    assert retries(caplog), "Phoenix never pushed back; the scenario tests nothing"
    assert tracer.dropped_span_count() == 0
    stored = busy_phoenix.wait_for_spans(project, SPANS, timeout=60)
    assert sorted(s["attributes"]["app.index"] for s in stored) == list(range(SPANS))
    assert app_seconds < 1.0, app_seconds  # the app never waited on the retries
    print(f"\n{protocol}: {len(retries(caplog))} pushbacks retried, {SPANS} of {SPANS} stored")
    tracer.shutdown()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_pushback_outlasting_the_export_timeout_drops_and_counts_exactly_what_was_lost(
    busy_phoenix: PhoenixServer,
    protocol: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    project = f"dropped-{protocol.split('/')[0]}"
    # The first backoff (about one second) no longer fits in the timeout: refused batches are lost.
    tracer = pushed_back_tracer(busy_phoenix, protocol, project, 0.5, monkeypatch)

    make_spans(tracer)
    tracer.force_flush(60_000)
    dropped = tracer.dropped_span_count()

    assert dropped > 0
    assert any("dropped" in r.getMessage() and r.name == "ragtel" for r in caplog.records)
    stored = busy_phoenix.wait_for_spans(project, SPANS - dropped, timeout=60)
    time.sleep(1)  # nothing more may trickle in: the dropped spans are really gone
    stored = busy_phoenix.spans(project)
    assert len(stored) == SPANS - dropped, (len(stored), dropped)
    print(f"\n{protocol}: {dropped} of {SPANS} dropped and counted, {len(stored)} stored")
    tracer.shutdown()
