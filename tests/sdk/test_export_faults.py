"""Export under faults: spans the encoder refuses, and collectors that refuse big requests.

* One span holding what the OTLP encoder refuses (an ``end_time`` given as a
  ``datetime``, a timestamp out of range, a 70-bit integer, a lone surrogate)
  must not lose the other spans of its batch: it is repaired, or dropped
  alone and counted, for the file and for OTLP over HTTP and gRPC.
* Requests are bounded by estimated size; a request a collector refuses as
  too large (HTTP 413, gRPC ``RESOURCE_EXHAUSTED``) is sent again in halves,
  down to one span, and a span too large on its own is dropped and counted.

The collectors are the real OTLP receiver and small real OTLP servers with a
byte limit (``faulty_otlp``).
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from example_budget import examples
from faulty_otlp import ByteLimitedGrpcReceiver, ByteLimitedHttpReceiver
from otlp_receiver import OTLPReceiver
from ragtel import get_lastmile_tracer
from ragtel._config import DropCounts
from ragtel._tracer import LastMileTracer, tracer_core

VALUE = "v" * 16_000  # a captured value at ragtel's default cap


def drop_counts(tracer: LastMileTracer) -> DropCounts:
    assert tracer_core(tracer).installation is not None
    return tracer_core(tracer).installation.drop_counts()


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    yield provider
    provider.shutdown()


def file_spans(path: Path) -> list[dict[str, Any]]:
    return [
        span
        for line in path.read_text().splitlines()
        for resource_spans in json.loads(line)["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


# One bad span, one batch ------------------------------------------------------


def emit_hostile_batch(provider: TracerProvider) -> datetime.datetime:
    """Spans in unrelated traces, in one batch; two hostile to the encoder."""
    raw = provider.get_tracer("raw")
    raw.start_span("before").end()
    ended_at = datetime.datetime(2030, 1, 2, 3, 4, 5, 678_901, tzinfo=datetime.timezone.utc)
    raw.start_span("ended-with-datetime").end(end_time=ended_at)  # type: ignore[arg-type]
    raw.start_span("all-before-1970", start_time=-5).end(end_time=-5)
    span = raw.start_span("odd-values", kind=SpanKind.CLIENT)
    span.set_attribute("wide", 2**70)
    span.set_attribute("text", "broken \udcff text")
    span.add_event("at-a-float", timestamp=1.9e18)  # type: ignore[arg-type]
    span.end()
    raw.start_span("after").end()
    return ended_at


def check_hostile_batch(spans: dict[str, dict[str, Any]], ended_at: datetime.datetime) -> None:
    assert set(spans) == {"before", "ended-with-datetime", "odd-values", "after"}
    expected_end = int(ended_at.timestamp()) * 10**9 + 678_901_000
    assert spans["ended-with-datetime"]["end"] == expected_end
    odd = spans["odd-values"]
    assert odd["attributes"] == {"wide": str(2**70), "text": "broken \\udcff text"}
    assert odd["events"] == [("at-a-float", 1_900_000_000_000_000_000)]


def test_one_unencodable_span_does_not_lose_its_batch_in_the_file(
    provider: TracerProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("hostile-file", tracer_provider=provider, output_filepath=path)
    ended_at = emit_hostile_batch(provider)
    assert tracer.force_flush(10_000)

    spans = {}
    for span in file_spans(path):
        attributes = {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}
        spans[span["name"]] = {
            "end": int(span["endTimeUnixNano"]),
            "attributes": attributes,
            "events": [(e["name"], int(e["timeUnixNano"])) for e in span.get("events", [])],
        }
    check_hostile_batch(spans, ended_at)
    assert drop_counts(tracer) == DropCounts(unencodable=1)
    assert "could not encode" not in caplog.text
    assert caplog.text.count("values the OTLP encoder refuses") == 1


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_one_unencodable_span_does_not_lose_its_batch_over_otlp(
    provider: TracerProvider, receiver: OTLPReceiver, protocol: str
) -> None:
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    tracer = get_lastmile_tracer(
        f"hostile-{protocol}",
        tracer_provider=provider,
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
    )
    ended_at = emit_hostile_batch(provider)
    assert tracer.force_flush(10_000)

    received = receiver.wait_for_spans(4)
    spans = {
        span["name"]: {
            "end": span["end_time_unix_nano"],
            "attributes": span["attributes"],
            "events": [(e["name"], e["time_unix_nano"]) for e in span["events"]],
        }
        for span in received
    }
    check_hostile_batch(spans, ended_at)
    assert len(received) == 4
    assert drop_counts(tracer) == DropCounts(unencodable=1)


# Requests bounded by bytes; refusals split -------------------------------------


def emit_big_spans(provider: TracerProvider, count: int) -> list[str]:
    raw = provider.get_tracer("raw")
    names = [f"big-{i}" for i in range(count)]
    for name in names:
        raw.start_span(name, attributes={"payload": VALUE}).end()
    return names


@pytest.mark.integration
@pytest.mark.parametrize("server_class", [ByteLimitedHttpReceiver, ByteLimitedGrpcReceiver])
def test_a_request_refused_as_too_large_is_sent_in_halves_until_every_span_arrives(
    provider: TracerProvider,
    server_class: type[ByteLimitedHttpReceiver | ByteLimitedGrpcReceiver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 1 MiB: the default request bound (3.5 MiB) is over it, so refusals do happen.
    with server_class(1 << 20) as server:
        protocol = "grpc" if server_class is ByteLimitedGrpcReceiver else "http/protobuf"
        tracer = get_lastmile_tracer(
            "split",
            tracer_provider=provider,
            otlp_endpoint=server.endpoint,
            otlp_protocol=protocol,
            otlp_timeout=10,
        )
        names = emit_big_spans(provider, 600)
        started = time.monotonic()
        assert tracer.force_flush(60_000)
        elapsed = time.monotonic() - started

    assert sorted(server.names) == sorted(names)  # every span, once
    assert len(set(server.span_ids)) == len(names)
    assert max(server.accepted_sizes) <= 1 << 20
    assert drop_counts(tracer) == DropCounts()
    # Refusals end at once: no backoff and retry of a request that can only be refused again.
    assert elapsed < 20
    assert caplog.text.count("refused a request of") == 1
    assert "Failed to export" not in caplog.text


@pytest.mark.integration
@pytest.mark.parametrize("server_class", [ByteLimitedHttpReceiver, ByteLimitedGrpcReceiver])
def test_a_span_too_large_on_its_own_is_dropped_and_counted_as_too_large(
    provider: TracerProvider,
    server_class: type[ByteLimitedHttpReceiver | ByteLimitedGrpcReceiver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with server_class(256 << 10) as server:
        protocol = "grpc" if server_class is ByteLimitedGrpcReceiver else "http/protobuf"
        tracer = get_lastmile_tracer(
            "too-large",
            tracer_provider=provider,
            otlp_endpoint=server.endpoint,
            otlp_protocol=protocol,
        )
        raw = provider.get_tracer("raw")
        raw.start_span("small-1").end()
        raw.start_span("huge", attributes={"payload": "h" * (512 << 10)}).end()
        raw.start_span("small-2").end()
        assert tracer.force_flush(30_000)
        tracer.shutdown()

    assert sorted(server.names) == ["small-1", "small-2"]
    assert drop_counts(tracer) == DropCounts(too_large=1)
    assert "too large: 1" in caplog.text


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_big_values_reach_the_real_receiver_in_requests_under_its_limit(
    provider: TracerProvider, receiver: OTLPReceiver, protocol: str
) -> None:
    # 1,024 spans of 16 KB in one request would be 16 MB, four times gRPC's
    # default limit of 4 MiB, which the receiver keeps.
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    tracer = get_lastmile_tracer(
        f"bounded-{protocol}",
        tracer_provider=provider,
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
    )
    names = emit_big_spans(provider, 3_000)
    assert tracer.force_flush(120_000)

    received = receiver.wait_for_spans(3_000, timeout=60)
    assert sorted(span["name"] for span in received) == sorted(names)
    assert drop_counts(tracer) == DropCounts()
    # About 3.5 MiB per request: some 200 of these spans, never the 1,024 of a count-only batch.
    per_request = [
        sum(
            len(ss.get("spans", []))
            for rs in r["request"]["resourceSpans"]
            for ss in rs["scopeSpans"]
        )
        for r in receiver.requests("traces")
    ]
    assert max(per_request) < 230


def test_big_log_records_reach_the_real_receiver_over_grpc(
    provider: TracerProvider, receiver: OTLPReceiver
) -> None:
    # The sibling for log() records: 512 records of 16 KB (the SDK's batch) are 8 MB.
    tracer = get_lastmile_tracer(
        "bounded-logs",
        tracer_provider=provider,
        otlp_endpoint=receiver.grpc_endpoint,
        otlp_protocol="grpc",
    )
    with tracer.start_as_current_span("request"):
        for index in range(600):
            tracer.log(f"{index:04d}" + VALUE)
    assert tracer.force_flush(60_000)

    records = receiver.wait_for_log_records(600, timeout=60)
    assert sorted(record["body"][1:5] for record in records) == [f"{i:04d}" for i in range(600)]


def test_the_request_bound_is_set_by_its_variable(
    provider: TracerProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAGTEL_MAX_EXPORT_BATCH_BYTES", str(100_000))
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("bound-variable", tracer_provider=provider, output_filepath=path)
    names = emit_big_spans(provider, 60)
    assert tracer.force_flush(10_000)

    lines = path.read_text().splitlines()
    assert sorted(s["name"] for s in file_spans(path)) == sorted(names)
    # Six spans of some 16 KB fit under 100,000 bytes; a seventh would not.
    per_line = [
        len(json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) for line in lines
    ]
    assert per_line == [6] * 10


def test_a_bad_request_bound_in_the_environment_is_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ragtel._config import DEFAULT_MAX_EXPORT_BATCH_BYTES, resolve_batch

    monkeypatch.setenv("RAGTEL_MAX_EXPORT_BATCH_BYTES", "lots")
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        assert resolve_batch().max_export_batch_bytes == DEFAULT_MAX_EXPORT_BATCH_BYTES
    assert "RAGTEL_MAX_EXPORT_BATCH_BYTES" in caplog.text


# Any span at all -----------------------------------------------------------------


def hostile_spans() -> Any:
    from hypothesis import strategies as st
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Link, SpanContext, Status, StatusCode

    from fuzz_strategies import any_char_text, deep, huge_ints, nested, odd_text

    texts = st.one_of(any_char_text, odd_text, st.integers(), st.none())
    times = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
        st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
        huge_ints,
        st.none(),
        st.text(max_size=5),
    )
    keys = st.one_of(any_char_text, st.integers())
    values = st.one_of(nested, deep, huge_ints)
    attributes = st.dictionaries(keys, values, max_size=5)
    ids = st.integers(min_value=0, max_value=2**140)
    contexts = st.builds(SpanContext, ids, ids, st.booleans())
    events = st.builds(Event, texts, attributes, times)
    links = st.builds(Link, contexts, attributes)
    return st.builds(
        ReadableSpan,
        name=texts,
        context=contexts,
        parent=st.none() | contexts,
        attributes=attributes,
        events=st.lists(events, max_size=3),
        links=st.lists(links, max_size=2),
        kind=st.sampled_from([*SpanKind, "client", 7]),
        status=st.builds(Status, st.sampled_from(list(StatusCode)), texts),
        start_time=times,
        end_time=times,
    )


def test_any_span_is_prepared_into_one_the_encoder_takes_whole_or_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from hypothesis import HealthCheck, given, settings
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from ragtel._sdk.otlp_json import encode_spans_line
    from ragtel._sdk.span_prepare import prepare, resource_size

    @settings(max_examples=examples(300), deadline=None, suppress_health_check=list(HealthCheck))
    @given(hostile_spans())
    def check(span: Any) -> None:
        caplog.clear()
        ready, size = prepare(span)
        if ready is None:
            return
        data = encode_spans([ready]).SerializeToString()  # raises on anything it refuses
        encode_spans_line([ready])
        # Nothing left for the encoder to leave out (it logs each attribute it drops).
        here = threading.get_ident()  # not the export threads of earlier tests
        assert not [
            r for r in caplog.records if r.name.startswith("opentelemetry") and r.thread == here
        ]
        assert prepare(ready)[0] is ready  # a prepared span needs nothing more
        # The estimate is in the encoded size's range: it bounds requests.
        estimate = size + resource_size(ready.resource)
        assert len(data) * 0.5 - 64 <= estimate <= len(data) * 2 + 512

    check()


# Odd times: read for what they mean, never a reason to lose a span ---------------


def file_span(path: Path, name: str) -> dict[str, Any]:
    return next(span for span in file_spans(path) if span["name"] == name)


def test_an_event_at_an_impossible_time_is_dropped_alone_and_counted(
    provider: TracerProvider, tmp_path: Path
) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("bad-event", tracer_provider=provider, output_filepath=path)
    with tracer.start_as_current_span("keep-me") as span:
        span.add_event("first")
        span.add_event("before-1970", timestamp=-5)
        span.set_attribute("important", "data")
        span.add_event("last")
    assert tracer.force_flush(10_000)

    kept = file_span(path, "keep-me")
    assert [event["name"] for event in kept["events"]] == ["first", "last"]
    assert kept["droppedEventsCount"] == 1
    assert {"key": "important", "value": {"stringValue": "data"}} in kept["attributes"]
    assert drop_counts(tracer) == DropCounts()


def test_times_given_in_seconds_are_read_as_seconds(
    provider: TracerProvider, tmp_path: Path
) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("seconds", tracer_provider=provider, output_filepath=path)
    before = time.time_ns()
    span = tracer.start_span("float-end")
    span.add_event("float-event", timestamp=time.time())  # type: ignore[arg-type]
    span.end(end_time=time.time())  # type: ignore[arg-type]
    span = tracer.start_span("int-seconds-start", start_time=int(time.time()))
    span.end()
    after = time.time_ns()
    assert tracer.force_flush(10_000)

    float_end = file_span(path, "float-end")
    assert before <= int(float_end["startTimeUnixNano"]) <= int(float_end["endTimeUnixNano"])
    assert int(float_end["endTimeUnixNano"]) <= after
    assert before <= int(float_end["events"][0]["timeUnixNano"]) <= after
    int_start = file_span(path, "int-seconds-start")
    assert before - 10**9 <= int(int_start["startTimeUnixNano"]) <= after
    assert drop_counts(tracer) == DropCounts()


def test_an_end_before_the_start_is_moved_to_the_start(
    provider: TracerProvider, tmp_path: Path
) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("backwards", tracer_provider=provider, output_filepath=path)
    start = time.time_ns()
    tracer.start_span("backwards", start_time=start).end(end_time=start - 10**9)
    tracer.start_span("ended-before-1970", start_time=start).end(end_time=-5)
    assert tracer.force_flush(10_000)

    for name in ("backwards", "ended-before-1970"):
        span = file_span(path, name)
        assert int(span["startTimeUnixNano"]) == int(span["endTimeUnixNano"]) == start
    assert drop_counts(tracer) == DropCounts()


# Texts the SDK records itself ------------------------------------------------------


def test_secrets_in_exceptions_the_sdk_records_are_redacted_before_export(
    provider: TracerProvider, tmp_path: Path
) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("sdk-exception", tracer_provider=provider, output_filepath=path)
    secret = "S3cr3tCanary"
    with pytest.raises(KeyError), tracer.start_as_current_span("failing"):
        raise KeyError(f"lookup failed api_key={secret}")
    span = tracer.start_span("failing-url")
    span.record_exception(ConnectionError(f"cannot reach postgresql://app:{secret}@db/main"))
    span.end()
    assert tracer.force_flush(10_000)

    text = path.read_text()
    assert secret not in text
    failing = file_span(path, "failing")
    assert failing["status"]["message"].startswith("KeyError: 'lookup failed api_key=")
    event = {a["key"]: a["value"]["stringValue"] for a in failing["events"][0]["attributes"]}
    assert event["exception.type"] == "KeyError"
    assert "lookup failed api_key=" in event["exception.message"]
    assert "Traceback" in event["exception.stacktrace"]
    url_event = file_span(path, "failing-url")["events"][0]
    message = next(a for a in url_event["attributes"] if a["key"] == "exception.message")
    assert "cannot reach postgresql://app:" in message["value"]["stringValue"]
