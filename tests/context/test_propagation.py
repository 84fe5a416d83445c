"""Opt-in propagation of the ParamSet and context attributes in W3C Baggage."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from opentelemetry import context as context_api
from opentelemetry import propagate

from ragtel import get_lastmile_tracer
from ragtel.testing import SpanRecorder
from semconv_check import check_otlp_json_span

SERVICE = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from ragtel import get_lastmile_tracer

    tracer = get_lastmile_tracer(
        "retrieval-service",
        output_filepath=sys.argv[1],
        initial_params={"index": "v2", "chunk_size": 999},
        propagate_params=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with tracer.start_as_current_span("retrieve", context=dict(self.headers)):
                with tracer.start_as_current_span("search"):
                    body = json.dumps(tracer.get_params()).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.handle_request()
    tracer.shutdown()
    """
)


def read_spans(path: Path) -> dict[str, dict[str, object]]:
    spans = {}
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    check_otlp_json_span(span)
                    attributes = {}
                    for item in span.get("attributes", []):
                        value = item["value"]
                        attributes[item["key"]] = next(iter(value.values()))
                    spans[span["name"]] = {**span, "attributes": attributes}
    return spans


def test_params_and_labels_reach_a_downstream_process_over_http(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    traces = tmp_path / "service.jsonl"
    service = subprocess.Popen(
        [sys.executable, str(script), str(traces)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None
        port = int(service.stdout.readline())
        tracer = get_lastmile_tracer(
            "frontend", exporter="none", set_global=False, propagate_params=True
        )
        labels = tracer.using_attributes(session_id="conv-9", user_id="u-3", tags=["beta"])
        with labels, tracer.start_as_current_span("ask") as ask:
            tracer.register_params({"chunk_size": 512, "reranker": "bge", "temperature": 0.2})
            tracer.register_param("customer_prompt", "confidential", sensitive=True)
            tracer.register_param("db_password", "hunter2")
            headers = tracer.get_distributed_trace_headers()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(request, timeout=10) as response:
                downstream_params = json.loads(response.read())
        service.wait(timeout=20)
    finally:
        service.kill()
        service.wait()

    # Upstream params arrived with their types; the service's own defaults won on conflict.
    assert downstream_params == {
        "chunk_size": 999,
        "reranker": "bge",
        "temperature": 0.2,
        "index": "v2",
    }
    assert "confidential" not in headers["baggage"] and "hunter2" not in headers["baggage"]
    spans = read_spans(traces)
    retrieve, search = spans["retrieve"], spans["search"]
    assert retrieve["traceId"] == format(ask.get_span_context().trace_id, "032x")
    assert retrieve["parentSpanId"] == format(ask.get_span_context().span_id, "016x")
    assert retrieve["attributes"]["ragtel.param.reranker"] == "bge"
    assert retrieve["attributes"]["ragtel.param.chunk_size"] == "999"  # intValue travels as text
    for span in (retrieve, search):
        assert span["attributes"]["session.id"] == "conv-9"
        assert span["attributes"]["user.id"] == "u-3"
        assert span["attributes"]["ragtel.tags"] == {"values": [{"stringValue": "beta"}]}


def test_propagation_is_off_by_default(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.using_session("s"), tracer.start_as_current_span("root"):
        tracer.register_param("chunk_size", 512)
        headers = tracer.get_distributed_trace_headers()
    assert "ragtel" not in json.dumps(headers) and "chunk_size" not in json.dumps(headers)


def test_entries_over_the_size_limit_are_left_out_and_reported(
    ragtel_spans: SpanRecorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("RAGTEL_PROPAGATION_MAX_BYTES", "200")
    tracer = ragtel_spans.tracer("limited", propagate_params=True)
    with tracer.start_as_current_span("root"):
        tracer.register_params({f"p{i}": "x" * 40 for i in range(10)})
        baggage = tracer.get_distributed_trace_headers()["baggage"]
    assert len(baggage) <= 200
    assert 1 <= baggage.count("ragtel.param.") < 10
    assert "entries left out so far" in caplog.text


def test_extract_tolerates_foreign_damaged_and_hostile_entries(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("extract", propagate_params=True)
    hostile = [
        "ragtel.param.deep=" + "%5B" * 3000,  # nesting deep enough to break a JSON parser
        "ragtel.param.=1",  # not a valid key: empty
        "ragtel.tags=%22beta%22",  # tags must be a list
        "user.id=true",  # a user id must be text
        "ragtel.param.huge=" + "x" * 5000,  # over the W3C entry size
    ]
    carrier = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "baggage": ",".join(
            [
                "other=1",
                "session.id=plain-session",
                "ragtel.param.k=%7Bbroken",
                "ragtel.param.n=5",
                *hostile,
            ]
        ),
    }
    # As a server instrumentation does: extract the incoming context and attach it.
    token = context_api.attach(propagate.extract(carrier))
    try:
        with tracer.start_as_current_span("downstream"):
            assert tracer.get_params() == {"k": "{broken", "n": 5}
            downstream_headers = tracer.get_distributed_trace_headers()
    finally:
        context_api.detach(token)
    span = ragtel_spans.by_name("downstream")
    assert span.attributes["session.id"] == "plain-session"
    assert span.attributes["gen_ai.conversation.id"] == "plain-session"
    assert "user.id" not in span.attributes and "ragtel.tags" not in span.attributes
    names = [entry.split("=", 1)[0] for entry in downstream_headers["baggage"].split(",")]
    assert sorted(names) == sorted(["ragtel.param.k", "ragtel.param.n", "session.id"])


def test_one_forged_deeply_nested_entry_costs_only_itself(ragtel_spans: SpanRecorder) -> None:
    # Within W3C's 4,096 bytes per entry, yet deeper than json.loads can walk: it is
    # read as the text it is, and the entries beside it still arrive.
    deep = "%5B" * 1_300
    assert len(f"ragtel.param.deep={deep}") < 4_096
    tracer = ragtel_spans.tracer("deep", propagate_params=True)
    carrier = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "baggage": f"ragtel.param.n=5,ragtel.param.deep={deep},session.id=%22s%22",
    }
    token = context_api.attach(propagate.extract(carrier))
    try:
        with tracer.start_as_current_span("downstream"):
            params = tracer.get_params()
    finally:
        context_api.detach(token)
    assert params == {"n": 5, "deep": "[" * 1_300}
    assert ragtel_spans.by_name("downstream").attributes["session.id"] == "s"


def test_a_huge_baggage_header_is_read_in_one_pass(ragtel_spans: SpanRecorder) -> None:
    import time

    tracer = ragtel_spans.tracer("huge", propagate_params=True)
    carrier = {"baggage": "ragtel.param.n=5," + "x=1," * 5_000_000}
    started = time.perf_counter()
    token = context_api.attach(propagate.extract(carrier))
    try:
        with tracer.start_as_current_span("downstream"):
            params = tracer.get_params()
    finally:
        context_api.detach(token)
    assert params == {"n": 5}
    assert time.perf_counter() - started < 2.0


def test_upstream_entries_travel_on_once_with_the_applications_own(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer("hop", propagate_params=True)
    carrier = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "baggage": "other=1,session.id=%22s%22,ragtel.param.n=5",
    }
    token = context_api.attach(propagate.extract(carrier))
    try:
        with tracer.start_as_current_span("hop"):
            forwarded = tracer.get_distributed_trace_headers()["baggage"].split(",")
    finally:
        context_api.detach(token)
    names = [entry.split("=", 1)[0] for entry in forwarded]
    assert sorted(names) == ["other", "ragtel.param.n", "session.id"]


def test_what_travels_is_the_recorded_form_never_a_secret(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(
        "masked", propagate_params=True, mask=lambda v: "***" if v == "pii@example.com" else v
    )
    with tracer.start_as_current_span("root"):
        tracer.register_params(
            {"llm": {"model": "m", "api_key": "sk-LEAK"}, "contact": "pii@example.com", "k": 1}
        )
        baggage = tracer.get_distributed_trace_headers()["baggage"]
    assert "sk-LEAK" not in baggage and "pii@example.com" not in baggage
    assert "ragtel.param.contact=%22%2A%2A%2A%22" in baggage


def test_the_whole_header_stays_within_w3c_limits(ragtel_spans: SpanRecorder) -> None:
    from opentelemetry import baggage as otel_baggage
    from opentelemetry import context as context_api

    tracer = ragtel_spans.tracer("full", propagate_params=True)
    app_baggage = context_api.get_current()
    for i in range(60):
        app_baggage = otel_baggage.set_baggage(f"app{i}", "v" * 100, app_baggage)
    token = context_api.attach(app_baggage)
    try:
        with tracer.start_as_current_span("root"):
            tracer.register_params({f"p{i}": "x" * 40 for i in range(40)})
            header = tracer.get_distributed_trace_headers()["baggage"]
    finally:
        context_api.detach(token)
    assert len(header) <= 8192
    assert all(f"app{i}=" in header for i in range(60))  # the application's own baggage survives
    assert "ragtel.param." in header
