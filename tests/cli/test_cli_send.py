"""``ragtel send``: a file written by the real tracer, replayed to a real OTLP receiver.

The command runs as a subprocess (``python -m ragtel send``), against the
session's OTLP receiver (``@elastic/mockotlpserver``) or, to see rejections
and retries, against a small stdlib HTTP server written here whose answers
each test scripts.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogsData
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from opentelemetry.trace import SpanKind, Status, StatusCode

from cli_hostile_lines import (
    ATTACK,
    ATTACK_ESCAPED,
    dangerous_bytes,
    forged_lines,
    good_span,
    hostile_file,
    hostile_lines,
    line_of,
)
from otlp_receiver import OTLPReceiver, any_value
from ragtel import get_lastmile_tracer
from ragtel._sdk.otlp_json import message_fields
from ragtel.cli._jsonl import TRACES_JSON
from ragtel.cli.send.batches import Batcher, rebatch
from ragtel.cli.send.destination import signal_urls
from ragtel.cli.send.http_sender import retry_after_seconds

PROTOCOLS = ("grpc", "http/protobuf", "http/json")
TIMEOUT = 120  # seconds for one command; each takes about one


# Helpers ---------------------------------------------------------------------


def send(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``ragtel send ARGS`` with the OTel environment scrubbed, plus ``env``."""
    done = subprocess.run(
        [sys.executable, "-m", "ragtel", "send", *map(str, args)],
        env=clean_env(**(env or {})),
        capture_output=True,
        timeout=timeout,
    )
    # Decoded here, not with text=True, which would turn the progress bar's "\r" into "\n".
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def clean_env(**extra: str) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OTEL_", "RAGTEL_", "LASTMILE_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    environ.update(extra)
    return environ


def endpoint_for(receiver: OTLPReceiver, protocol: str) -> str:
    return receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint


def write_traces(path: Path, traces: int = 3) -> None:
    """Traces of four spans each: kinds, typed attributes, an event, a link, an error."""
    tracer = get_lastmile_tracer("send-test", output_filepath=path)
    previous = None
    for index in range(traces):
        links = [trace.Link(previous, {"link.index": index})] if previous else []
        with tracer.start_as_current_span(
            f"answer-{index}",
            kind=SpanKind.SERVER,
            attributes={"index": index, "ratio": 0.25, "ok": True, "tags": ["a", "b"]},
            links=links,
        ) as root:
            previous = root.get_span_context()
            with tracer.start_as_current_span("retrieve", kind=SpanKind.CLIENT) as child:
                child.add_event("retrieved", {"documents": 5, "scores": [0.9, 0.7]})
            with tracer.start_as_current_span("generate") as child:
                child.set_status(Status(StatusCode.ERROR, "model timed out"))
                child.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            tracer.start_span("detached").end()
        # A line per trace, so the file has several lines.
        tracer.force_flush()
    tracer.shutdown()


def file_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def file_spans(path: Path) -> dict[str, dict[str, Any]]:
    """The spans of an OTLP JSON Lines file, by span id, decoded like the receiver's."""
    spans = {}
    for line in file_lines(path):
        for resource_spans in line["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    spans[span["spanId"]] = comparable(span)
    return spans


def comparable(span: dict[str, Any]) -> dict[str, Any]:
    """What must survive the trip: ids, name, times, kind, attributes, events, links, status."""
    return {
        "trace_id": span["traceId"],
        "parent_span_id": span.get("parentSpanId") or None,
        "name": span["name"],
        "kind": int(span.get("kind", 0)),
        "start_time_unix_nano": int(span["startTimeUnixNano"]),
        "end_time_unix_nano": int(span["endTimeUnixNano"]),
        "attributes": attributes(span),
        "events": [
            (event["name"], int(event["timeUnixNano"]), attributes(event))
            for event in span.get("events", [])
        ],
        "links": [
            (link["traceId"], link["spanId"], attributes(link)) for link in span.get("links", [])
        ],
        "status": (
            int(span.get("status", {}).get("code", 0)),
            span.get("status", {}).get("message", ""),
        ),
        "flags": int(span.get("flags", 0)),
        "trace_state": span.get("traceState", ""),
    }


def attributes(holder: dict[str, Any]) -> dict[str, Any]:
    return {kv["key"]: any_value(kv["value"]) for kv in holder.get("attributes", [])}


def received_spans(receiver: OTLPReceiver) -> list[dict[str, Any]]:
    """Every span the receiver got, raw (OTLP/JSON shape), in arrival order."""
    return [
        span
        for request in receiver.requests("traces")
        for resource_spans in request["request"].get("resourceSpans", [])
        for scope_spans in resource_spans.get("scopeSpans", [])
        for span in scope_spans.get("spans", [])
    ]


def request_span_counts(receiver: OTLPReceiver) -> list[int]:
    return [
        sum(
            len(scope_spans.get("spans", []))
            for resource_spans in request["request"].get("resourceSpans", [])
            for scope_spans in resource_spans.get("scopeSpans", [])
        )
        for request in receiver.requests("traces")
    ]


def wait_for_spans(receiver: OTLPReceiver, count: int) -> list[dict[str, Any]]:
    """The raw spans, once ``count`` arrived (the receiver reports after answering)."""
    receiver.wait_for_spans(count, timeout=30)
    return received_spans(receiver)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ScriptedServer:
    """An OTLP/HTTP stand-in answering each request with the next scripted answer.

    An answer is ``(status, headers, body)``; the last one repeats.
    """

    answers: list[tuple[int, dict[str, str], bytes]]
    received: list[tuple[float, str, dict[str, str], bytes]] = field(default_factory=list)
    max_body: int | None = None
    """Bodies longer than this are answered 413, as a collector with a size limit does."""

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                server.received.append((time.monotonic(), self.path, headers, body))
                index = min(len(server.received), len(server.answers)) - 1
                status, answer_headers, answer = server.answers[index]
                if server.max_body is not None and len(body) > server.max_body:
                    status, answer_headers, answer = 413, {}, b"request entity too large"
                self.send_response(status)
                for key, value in {"Content-Length": str(len(answer)), **answer_headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedServer, str]]:
    """A :class:`ScriptedServer` (answers set by the test) and its base URL."""
    script = ScriptedServer(answers=[(200, {}, b"")])
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), script.handler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


@pytest.fixture
def traces_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three lines of one trace each (only force_flush exports, however slow the machine)."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    path = tmp_path / "ragtel-traces.jsonl"
    write_traces(path)
    return path


# 1. Every span arrives as it is in the file ------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_span_arrives_with_its_ids_times_and_attributes(
    traces_file: Path, receiver: OTLPReceiver, protocol: str
) -> None:
    expected = file_spans(traces_file)
    assert len(expected) == 12 and len(file_lines(traces_file)) == 3

    done = send(traces_file, "--endpoint", endpoint_for(receiver, protocol), "--protocol", protocol)

    assert done.returncode == 0, done.stderr
    arrived = wait_for_spans(receiver, len(expected))
    assert {span["spanId"]: comparable(span) for span in arrived} == expected
    assert len(arrived) == len(expected)  # each once
    assert {request["transport"] for request in receiver.requests()} == {
        "grpc" if protocol == "grpc" else "http"
    }
    assert receiver.errors() == []
    assert "sent 12 spans in 1 request to " in done.stderr
    assert done.stdout == ""


@pytest.mark.integration
def test_the_endpoint_and_protocol_come_from_the_environment(
    traces_file: Path, receiver: OTLPReceiver
) -> None:
    done = send(
        traces_file,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        },
    )

    assert done.returncode == 0, done.stderr
    assert len(wait_for_spans(receiver, 12)) == 12
    assert {request["transport"] for request in receiver.requests()} == {"grpc"}


@pytest.mark.integration
def test_an_http_endpoint_with_a_path_is_used_as_given(
    traces_file: Path, receiver: OTLPReceiver
) -> None:
    done = send(traces_file, "--endpoint", receiver.traces_url, "--protocol", "http/json")

    assert done.returncode == 0, done.stderr
    assert len(wait_for_spans(receiver, 12)) == 12
    assert f"to {receiver.traces_url} " in done.stderr


# 2. Log records go to the logs service -----------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_logs_file_sends_its_records_to_the_logs_endpoint(
    tmp_path: Path, receiver: OTLPReceiver, protocol: str
) -> None:
    tracer = get_lastmile_tracer("send-test", output_filepath=tmp_path / "ragtel-traces.jsonl")
    with tracer.start_as_current_span("answer"):
        tracer.log({"stage": "retrieval", "top_k": 5})
        tracer.log(["draft", 1])
    tracer.force_flush()
    tracer.shutdown()
    logs_file = tmp_path / "ragtel-logs.jsonl"
    expected = [
        record
        for line in file_lines(logs_file)
        for resource_logs in line["resourceLogs"]
        for scope_logs in resource_logs["scopeLogs"]
        for record in scope_logs["logRecords"]
    ]
    assert len(expected) == 2

    done = send(logs_file, "--endpoint", endpoint_for(receiver, protocol), "--protocol", protocol)

    assert done.returncode == 0, done.stderr
    records = receiver.wait_for_log_records(2, timeout=30)
    assert receiver.requests("traces") == []
    assert [
        (r["trace_id"], r["span_id"], r["time_unix_nano"], r["body"], r["attributes"])
        for r in records
    ] == [
        (
            e["traceId"],
            e["spanId"],
            int(e["timeUnixNano"]),
            e["body"]["stringValue"],
            attributes(e),
        )
        for e in expected
    ]
    if protocol == "http/json":
        # The receiver's protobuf schema predates LogRecord.event_name; its JSON passes it on.
        assert [r["event_name"] for r in records] == [e["eventName"] for e in expected]
    assert "sent 2 log records in 1 request" in done.stderr


# 3. Re-batching ----------------------------------------------------------------


@pytest.mark.integration
def test_lines_are_merged_and_split_into_requests_of_at_most_batch_size(
    tmp_path: Path, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ragtel-traces.jsonl"
    # One export of 1,200 spans makes one line of 1,200 spans.
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1200")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    tracer = get_lastmile_tracer("send-test", output_filepath=path)
    for index in range(1200):
        tracer.start_span(f"bulk-{index}").end()
    tracer.force_flush()
    for index in range(30):
        tracer.start_span(f"single-{index}").end()
        tracer.force_flush()
    tracer.shutdown()
    line_sizes = [
        len(line["resourceSpans"][0]["scopeSpans"][0]["spans"]) for line in file_lines(path)
    ]
    assert line_sizes == [1200] + [1] * 30
    expected = set(file_spans(path))

    done = send(
        path,
        "--endpoint",
        receiver.http_endpoint,
        "--protocol",
        "http/protobuf",
        "--batch-size",
        "500",
    )

    assert done.returncode == 0, done.stderr
    arrived = wait_for_spans(receiver, 1230)
    assert sorted(span["spanId"] for span in arrived) == sorted(expected)
    assert request_span_counts(receiver) == [500, 500, 230]
    # Equal resources and scopes are merged, not repeated for each one-span line.
    last = receiver.requests("traces")[-1]["request"]
    assert len(last["resourceSpans"]) == 1 and len(last["resourceSpans"][0]["scopeSpans"]) == 1
    assert "sent 1,230 spans in 3 requests" in done.stderr


def test_a_split_keeps_every_item_under_its_own_resource_and_scope() -> None:
    def line(service: str, scope: str, count: int) -> dict[str, Any]:
        resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
        spans = [{"spanId": f"{service}-{scope}-{index}"} for index in range(count)]
        return {
            "resourceSpans": [
                {"resource": resource, "scopeSpans": [{"scope": {"name": scope}, "spans": spans}]}
            ]
        }

    lines = [line("a", "x", 3), line("a", "y", 2), line("b", "x", 4)]
    batches = list(rebatch(lines, [Batcher(TRACES_JSON, 4)]))

    assert [batch.size for batch in batches] == [4, 4, 1]
    for batch in batches:
        for resource_spans in batch.payload()["resourceSpans"]:
            service = resource_spans["resource"]["attributes"][0]["value"]["stringValue"]
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    assert span["spanId"].startswith(f"{service}-{scope_spans['scope']['name']}-")
    sent = [
        span["spanId"]
        for batch in batches
        for resource_spans in batch.resources
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]
    assert sent == [span["spanId"] for item in lines for span in spans_of(item)]
    # The input lines are left as they were.
    assert [len(spans_of(item)) for item in lines] == [3, 2, 4]


def spans_of(line: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span
        for resource_spans in line["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


def test_message_fields_build_the_same_messages_as_protobufs_json_parser(
    traces_file: Path, tmp_path: Path
) -> None:
    tracer = get_lastmile_tracer("send-test-logs", output_filepath=tmp_path / "other.jsonl")
    with tracer.start_as_current_span("answer"):
        tracer.log({"stage": "retrieval"})
    tracer.force_flush()
    tracer.shutdown()
    samples = [(line, TracesData) for line in file_lines(traces_file)]
    samples += [(line, LogsData) for line in file_lines(tmp_path / "other.logs.jsonl")]
    for line, message_type in samples:
        with_base64_ids = json.loads(json.dumps(line), object_hook=base64_ids)
        parsed = json_format.ParseDict(with_base64_ids, message_type())
        assert message_type(**message_fields(line, message_type.DESCRIPTOR)) == parsed


def base64_ids(value: dict[str, Any]) -> dict[str, Any]:
    for key in ("traceId", "spanId", "parentSpanId"):
        if isinstance(value.get(key), str):
            value[key] = base64.b64encode(bytes.fromhex(value[key])).decode()
    return value


# 4. Corrupt lines --------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_corrupt_lines_are_skipped_by_number_and_the_rest_is_sent(
    traces_file: Path, receiver: OTLPReceiver, protocol: str
) -> None:
    first, second, third = traces_file.read_text().splitlines(keepends=True)
    traces_file.write_text(first + '{"resourceSpans": [{"scopeSpans": \n' + second + third[:200])
    expected = file_spans_of_text(first + second)

    done = send(traces_file, "--endpoint", endpoint_for(receiver, protocol), "--protocol", protocol)

    assert done.returncode == 1, done.stderr
    arrived = wait_for_spans(receiver, len(expected))
    assert {span["spanId"]: comparable(span) for span in arrived} == expected
    assert f"skipped 2 corrupt lines of {traces_file}: 2 (not JSON" in done.stderr
    assert ", 4 (not JSON" in done.stderr and "ends mid-line" in done.stderr
    assert "sent 8 spans" in done.stderr


def file_spans_of_text(text: str) -> dict[str, dict[str, Any]]:
    return {
        span["spanId"]: comparable(span)
        for line in text.splitlines()
        for span in spans_of(json.loads(line))
    }


@pytest.mark.integration
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_a_line_protobuf_cannot_hold_is_skipped_by_number(
    traces_file: Path, receiver: OTLPReceiver, protocol: str
) -> None:
    first, second, third = traces_file.read_text().splitlines(keepends=True)
    bad = json.loads(second)
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "not-hex"
    traces_file.write_text(first + "\n" + json.dumps(bad) + "\n" + third)
    expected = file_spans_of_text(first + third)

    done = send(traces_file, "--endpoint", endpoint_for(receiver, protocol), "--protocol", protocol)

    assert done.returncode == 1, done.stderr
    arrived = wait_for_spans(receiver, len(expected))
    assert {span["spanId"] for span in arrived} == set(expected)
    # Line 2 is blank: the bad line is the third.
    assert "skipped 1 corrupt line of " in done.stderr
    assert ": 3 (not OTLP JSON: id 'not-hex' is not hex)" in done.stderr


@pytest.mark.integration
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hostile_lines_are_skipped_alone_and_every_other_span_arrives(
    tmp_path: Path, receiver: OTLPReceiver, protocol: str
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(hostile_file())
    number = {name: index + 2 for index, name in enumerate(hostile_lines())}

    done = send(path, "--endpoint", endpoint_for(receiver, protocol), "--protocol", protocol)

    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    # The good lines, and the hostile lines a collector can take: NaN doubles (as the
    # string OTLP/JSON has, and bare), a name with a lone surrogate (U+FFFD over
    # protobuf), duplicate keys. In one request: no line cost another its batch, the
    # line nested too deep for receivers included.
    arrived = wait_for_spans(receiver, 8)
    assert sorted(int(span["traceId"], 16) for span in arrived) == [
        1,
        1,
        2,
        2,
        111,
        123,
        124,
        127,
    ]
    assert len(request_span_counts(receiver)) == 1
    assert f"{number['deeply nested JSON']} (JSON nested too deeply)" in done.stderr
    assert f"{number['deeply nested value']} (not OTLP JSON: messages nested more than 96" in (
        done.stderr
    )
    assert f"{number['start in the year 3170843']} (not OTLP JSON: start_time_unix_nano: " in (
        done.stderr
    )
    assert "sent 8 spans in 1 request" in done.stderr


def padded_spans_file(path: Path, pads: list[int]) -> None:
    """One line per span, span ``n`` carrying an attribute of ``pads[n - 1]`` bytes."""
    lines = []
    for number, pad in enumerate(pads, start=1):
        span = good_span(number)
        span["attributes"].append({"key": "pad", "value": {"stringValue": "x" * pad}})
        lines.append(json.dumps(line_of(span)))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.integration
def test_a_batch_refused_as_too_large_is_sent_in_halves_down_to_one_span(
    tmp_path: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    server.max_body = 25_000
    path = tmp_path / "padded.jsonl"
    padded_spans_file(path, [10_000] * 6 + [60_000] + [10_000] * 6)

    done = send(path, "--endpoint", url, "--batch-size", "13")

    accepted = [
        ExportTraceServiceRequest.FromString(body)
        for _, _, _, body in server.received
        if len(body) <= 25_000
    ]
    names = [
        int(span.trace_id.hex(), 16)
        for request in accepted
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    # Every span but the one over the limit arrived, each once.
    assert sorted(names) == [*range(1, 7), *range(8, 14)]
    assert done.returncode == 1, done.stderr
    assert f"sent 12 spans in {len(server.received)} requests" in done.stderr
    assert (
        "ragtel: 1 of 1 batches rejected (1 span): HTTP 413: request entity too large "
        "(one span alone is over the limit)" in done.stderr
    )


@pytest.mark.integration
def test_a_grpc_request_over_the_receivers_4_mib_is_split(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    path = tmp_path / "padded.jsonl"
    padded_spans_file(path, [300_000] * 24)  # 7.2 MB: over gRPC's default 4 MiB

    done = send(path, "--endpoint", receiver.grpc_endpoint, "--protocol", "grpc")

    assert done.returncode == 0, done.stderr
    arrived = wait_for_spans(receiver, 24)
    assert sorted(int(span["traceId"], 16) for span in arrived) == list(range(1, 25))
    assert len(request_span_counts(receiver)) >= 2


@pytest.mark.integration
def test_text_from_the_collector_is_escaped_in_messages(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = 1
    response.partial_success.error_message = ATTACK
    server.answers = [
        (200, {"Content-Type": "application/x-protobuf"}, response.SerializeToString()),
        (400, {"Content-Type": "text/plain"}, ATTACK.encode()),
    ]

    done = subprocess.run(
        [sys.executable, "-m", "ragtel", "send", str(traces_file), "--endpoint", url],
        env=clean_env(),
        capture_output=True,
        timeout=TIMEOUT,
    )

    assert done.returncode == 1
    assert b"partial success, 1 span rejected: " + ATTACK_ESCAPED.encode() in done.stderr
    assert dangerous_bytes(done.stderr) == [] and forged_lines(done.stderr) == []


# 5. Rejections and retries -----------------------------------------------------


@pytest.mark.integration
def test_rejected_batches_are_counted_with_the_first_reason(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    server.answers = [(400, {"Content-Type": "text/plain"}, b"bad request: no tenant")]

    done = send(traces_file, "--endpoint", url, "--batch-size", "5", "--timeout", "30")

    assert done.returncode == 1, done.stderr
    # 12 spans in batches of 5: 3 requests, each rejected once and not retried.
    assert len(server.received) == 3
    assert {path for _, path, _, _ in server.received} == {"/v1/traces"}
    assert "ragtel: 3 of 3 batches rejected (12 spans): HTTP 400: bad request: no tenant" in (
        done.stderr
    )
    assert "sent " not in done.stderr


@pytest.mark.integration
def test_transient_failures_are_retried_until_accepted(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    server.answers = [(503, {}, b""), (503, {"Retry-After": "1"}, b""), (200, {}, b"")]

    done = send(traces_file, "--endpoint", url, "--timeout", "30")

    assert done.returncode == 0, done.stderr
    assert len(server.received) == 3
    bodies = {body for _, _, _, body in server.received}
    assert len(bodies) == 1  # the same request, retried
    sent = ExportTraceServiceRequest.FromString(bodies.pop())
    assert sum(len(s.spans) for r in sent.resource_spans for s in r.scope_spans) == 12
    times = [when for when, _, _, _ in server.received]
    assert times[2] - times[1] >= 0.9  # Retry-After: 1 was honoured
    assert "sent 12 spans in 1 request" in done.stderr


@pytest.mark.integration
def test_a_partial_success_counts_its_rejected_spans(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = 2
    response.partial_success.error_message = "2 spans too old"
    server.answers = [
        (200, {"Content-Type": "application/x-protobuf"}, response.SerializeToString())
    ]

    done = send(traces_file, "--endpoint", url)

    assert done.returncode == 1, done.stderr
    assert "sent 10 spans in 1 request" in done.stderr
    assert (
        "ragtel: 1 of 1 batches rejected (2 spans): partial success, 2 spans rejected: "
        "2 spans too old" in done.stderr
    )


@pytest.mark.integration
def test_grpc_with_nothing_listening_gives_up_after_the_timeout(traces_file: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    done = send(traces_file, "--endpoint", endpoint, "--protocol", "grpc", "--timeout", "1")

    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "ragtel: 1 of 1 batches rejected (12 spans): gRPC UNAVAILABLE" in done.stderr
    assert "still failing after 1 s" in done.stderr
    assert f"stopped sending, the rest of {traces_file} was not sent" in done.stderr
    assert elapsed < 60


@pytest.mark.integration
def test_http_with_nothing_listening_stops_after_the_first_batch(traces_file: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"

    done = send(traces_file, "--endpoint", endpoint, "--batch-size", "4", "--timeout", "1")

    assert done.returncode == 1, done.stderr
    refused = f"cannot reach {endpoint.removeprefix('http://')}: Connection refused"
    assert f"ragtel: 1 of 1 batches rejected (4 spans): {refused}" in done.stderr
    assert "stopped sending" in done.stderr


# 6. Headers --------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_headers_from_options_and_environment_reach_the_receiver_unprinted(
    traces_file: Path, receiver: OTLPReceiver, protocol: str
) -> None:
    done = send(
        traces_file,
        "--endpoint",
        endpoint_for(receiver, protocol),
        "--protocol",
        protocol,
        "--header",
        "X-Api-Key=cli-secret-1",
        "--progress",
        "always",
        env={"OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=env-secret-2,x-api-key=env-secret-3"},
    )

    assert done.returncode == 0, done.stderr
    wait_for_spans(receiver, 12)
    (request,) = receiver.requests("traces")
    assert request["headers"]["x-api-key"] == "cli-secret-1"
    assert request["headers"]["x-tenant"] == "env-secret-2"
    for secret in ("cli-secret-1", "env-secret-2", "env-secret-3"):
        assert secret not in done.stdout + done.stderr


@pytest.mark.integration
def test_header_values_stay_out_of_error_messages(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    server.answers = [(401, {}, b"unauthorized")]

    rejected = send(traces_file, "--endpoint", url, "--header", "authorization=Bearer tok-secret")
    malformed = send(traces_file, "--endpoint", url, "--header", "tok-secret-without-key")
    control = send(traces_file, "--endpoint", url, "--header", "x-key=tok-secret\rinjected")

    assert rejected.returncode == 1 and "HTTP 401: unauthorized" in rejected.stderr
    assert server.received[0][2]["authorization"] == "Bearer tok-secret"
    assert malformed.returncode == 2 and "--header takes KEY=VALUE" in malformed.stderr
    assert control.returncode == 2 and "control character" in control.stderr
    for done in (rejected, malformed, control):
        assert "tok-secret" not in done.stdout + done.stderr


# 7. Nothing to do, or nothing doable -------------------------------------------


@pytest.mark.integration
def test_a_missing_file_is_one_line_and_status_2(tmp_path: Path) -> None:
    done = send(tmp_path / "absent.jsonl", "--endpoint", "http://127.0.0.1:9")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"ragtel: {tmp_path / 'absent.jsonl'}: no such file"]


@pytest.mark.integration
@pytest.mark.parametrize("content", ['["a", "json", "list"]\n', "plain text\nmore text\n"])
def test_a_file_that_is_not_otlp_json_is_status_2(
    tmp_path: Path, content: str, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    path = tmp_path / "notes.txt"
    path.write_text(content)

    done = send(path, "--endpoint", url)

    assert done.returncode == 2
    assert f"ragtel: {path}: not an OTLP JSON Lines file (line 1: " in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert server.received == []


@pytest.mark.integration
def test_an_empty_file_has_no_spans_to_send(
    tmp_path: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted
    path = tmp_path / "empty.jsonl"
    path.write_text("")

    done = send(path, "--endpoint", url)

    assert done.returncode == 0, done.stderr
    assert done.stderr == "no spans to send\n"
    assert server.received == []


@pytest.mark.integration
def test_no_endpoint_anywhere_is_status_2(traces_file: Path) -> None:
    done = send(traces_file)

    assert done.returncode == 2
    assert done.stderr.startswith("ragtel: no endpoint: give --endpoint URL")


@pytest.mark.integration
@pytest.mark.parametrize("endpoint", ["localhost:4318", "127.0.0.1:4317", "grpc://host:4317"])
def test_an_endpoint_without_http_or_https_is_status_2(traces_file: Path, endpoint: str) -> None:
    done = send(traces_file, "--endpoint", endpoint)

    assert done.returncode == 2
    assert "give it with http:// or https://" in done.stderr


@pytest.mark.integration
def test_the_file_defaults_to_ragtel_traces_file(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted

    done = send("--endpoint", url, env={"RAGTEL_TRACES_FILE": str(traces_file)})

    assert done.returncode == 0, done.stderr
    assert len(server.received) == 1


# 8. Progress -------------------------------------------------------------------


@pytest.mark.integration
def test_progress_always_draws_a_line_and_never_draws_none(
    traces_file: Path, scripted: tuple[ScriptedServer, str]
) -> None:
    server, url = scripted

    always = send(traces_file, "--endpoint", url, "--progress", "always")
    never = send(traces_file, "--endpoint", url, "--progress", "never")
    auto = send(traces_file, "--endpoint", url)  # stderr is a pipe, not a terminal

    assert always.returncode == never.returncode == auto.returncode == 0
    assert len(server.received) == 3
    progress, summary = always.stderr.rsplit("\n", 2)[:2]
    assert progress.startswith("\rsending: ") and "100% of " in progress
    assert "12 spans sent" in progress
    assert summary.startswith("sent 12 spans")
    for quiet in (never, auto):
        assert "\r" not in quiet.stderr and "sending:" not in quiet.stderr
        assert quiet.stderr.startswith("sent 12 spans")


# Pure helpers ------------------------------------------------------------------


def test_retry_after_is_seconds_or_an_http_date() -> None:
    from email.utils import formatdate

    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    in_a_minute = retry_after_seconds(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 50 < in_a_minute <= 60


def test_signal_urls_add_the_standard_paths_only_to_a_bare_endpoint() -> None:
    assert signal_urls("http://collector:4318", "http/protobuf") == {
        "traces": "http://collector:4318/v1/traces",
        "logs": "http://collector:4318/v1/logs",
    }
    assert signal_urls("https://gateway/otlp/v1/traces", "http/json") == {
        "traces": "https://gateway/otlp/v1/traces",
        "logs": "https://gateway/otlp/v1/logs",
    }
    assert signal_urls("http://gateway/ingest", "http/protobuf")["traces"] == (
        "http://gateway/ingest"
    )
    assert signal_urls("https://collector:4317/", "grpc")["logs"] == "https://collector:4317/"
