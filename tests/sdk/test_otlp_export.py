"""Export over OTLP gRPC and HTTP to a real receiver (Elastic's mockotlpserver)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, Status, StatusCode

from otlp_receiver import OTLPReceiver
from ragtel import get_lastmile_tracer

TOKEN = "tok-5f1d0c9e-never-logged"


def endpoint_for(receiver: OTLPReceiver, protocol: str) -> str:
    return receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_spans_arrive_intact(receiver: OTLPReceiver, protocol: str, tmp_path: Path) -> None:
    tracer = get_lastmile_tracer(
        f"otlp-{protocol}",
        lastmile_api_token=TOKEN,
        project_name="proj",
        exporter="otlp",
        otlp_protocol=protocol,
        otlp_endpoint=endpoint_for(receiver, protocol),
        set_global=False,
    )
    attributes = {
        "str": "value",
        "bool": True,
        "int": -42,
        "big": 2**62 + 1,
        "float": 0.125,
        "strs": ["a", "b"],
        "ints": [1, 2, 3],
        "floats": [0.5, 1.5],
        "bools": [True, False],
    }

    @tracer.trace_function("step")
    def step(query: str) -> dict[str, int]:
        return {"hits": 2}

    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes=attributes) as root:
        root.add_event("checkpoint", {"stage": "retrieval", "scores": [0.9, 0.1]})
        step("what is rag?")
        with tracer.start_as_current_span("failing") as failing:
            failing.set_status(Status(StatusCode.ERROR, "boom"))
    assert tracer.force_flush(10_000)

    spans = {span["name"]: span for span in receiver.wait_for_spans(3)}
    root_span, step_span, failing_span = spans["root"], spans["step"], spans["failing"]
    assert {key: root_span["attributes"][key] for key in attributes} == attributes
    assert root_span["attributes"]["ragtel.project.name"] == "proj"
    assert root_span["parent_span_id"] is None
    assert root_span["kind"] == "SPAN_KIND_SERVER"
    [event] = root_span["events"]
    assert event["name"] == "checkpoint"
    assert event["attributes"] == {"stage": "retrieval", "scores": [0.9, 0.1]}
    assert (
        root_span["start_time_unix_nano"]
        <= event["time_unix_nano"]
        <= root_span["end_time_unix_nano"]
    )
    assert step_span["parent_span_id"] == root_span["span_id"]
    assert failing_span["parent_span_id"] == root_span["span_id"]
    assert {s["trace_id"] for s in spans.values()} == {root_span["trace_id"]}
    assert step_span["attributes"]["ragtel.input"] == '{"query": "what is rag?"}'
    assert step_span["attributes"]["ragtel.output"] == '{"hits": 2}'
    assert failing_span["status"] == {"code": "STATUS_CODE_ERROR", "message": "boom"}
    assert root_span["transport"] == ("grpc" if protocol == "grpc" else "http")
    assert root_span["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert not any(
        TOKEN in str(value) for span in spans.values() for value in span["attributes"].values()
    )


def test_environment_headers_and_token_are_merged(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=search,x-env=ci")
    monkeypatch.setenv("LASTMILE_API_TOKEN", TOKEN)
    tracer = get_lastmile_tracer(
        "merged",
        exporter="otlp",
        otlp_protocol="grpc",
        otlp_endpoint=receiver.grpc_endpoint,
        set_global=False,
    )
    with tracer.start_as_current_span("hello"):
        pass
    tracer.force_flush(10_000)
    [span] = receiver.wait_for_spans(1)
    assert span["headers"]["x-team"] == "search" and span["headers"]["x-env"] == "ci"
    assert span["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_environment_endpoint_is_used_by_a_created_provider(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)
    tracer = get_lastmile_tracer("from-env")
    with tracer.start_as_current_span("via-env"):
        pass
    tracer.force_flush(10_000)
    assert [span["name"] for span in receiver.wait_for_spans(1)] == ["via-env"]
    assert not Path("ragtel-traces.jsonl").exists()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_receiver_down_neither_raises_nor_hangs(
    protocol: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.WARNING)
    port = closed_port()
    tracer = get_lastmile_tracer(
        f"down-{protocol}",
        lastmile_api_token=TOKEN,
        exporter="otlp",
        otlp_protocol=protocol,
        otlp_endpoint=f"http://127.0.0.1:{port}",
        otlp_timeout=1,
        set_global=False,
    )

    @tracer.trace_function()
    def work(i: int) -> int:
        return i * 2

    started = time.monotonic()
    with tracer.start_as_current_span("request"):
        results = [work(i) for i in range(200)]
    work_seconds = time.monotonic() - started
    assert results == [i * 2 for i in range(200)]  # the app's own work completed

    started = time.monotonic()
    tracer.shutdown()
    shutdown_seconds = time.monotonic() - started
    print(f"work {work_seconds:.3f}s, shutdown {shutdown_seconds:.2f}s")
    # Export is bounded by the batch export timeout (10 s default) plus one request timeout.
    assert shutdown_seconds < 12
    assert tracer.dropped_span_count() == 201
    assert any("201 spans dropped" in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_flush_and_shutdown_keep_their_timeouts_while_the_exporter_retries(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The exporter's own timeout stays at its 10 s default: it retries with
    # backoff against the closed port for that long. The app must not wait for it.
    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", "1000")
    tracer = get_lastmile_tracer(
        f"retrying-{protocol}",
        exporter="otlp",
        otlp_protocol=protocol,
        otlp_endpoint=f"http://127.0.0.1:{closed_port()}",
        set_global=False,
    )
    with tracer.start_as_current_span("request"):
        pass

    started = time.monotonic()
    flushed = tracer.force_flush(300)
    flush_seconds = time.monotonic() - started
    started = time.monotonic()
    tracer.shutdown()
    shutdown_seconds = time.monotonic() - started
    print(f"force_flush(300) {flush_seconds:.2f}s -> {flushed}, shutdown {shutdown_seconds:.2f}s")
    assert flushed is False
    assert flush_seconds < 1.0
    assert shutdown_seconds < 2.0
    assert tracer.dropped_span_count() == 1
