"""The examples run as documented and do what their comments claim.

Each Python example runs as a subprocess, in a temporary directory, with the
OpenTelemetry and ragtel environment scrubbed so the developer's own settings
cannot leak in; the test then checks the spans it produced.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from otlp_receiver import OTLPReceiver
from semconv_check import check_otlp_json_span

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 60  # seconds for one example run; each takes well under one
HEX_TRACE_ID = re.compile(r"[0-9a-f]{32}")
HEX_SPAN_ID = re.compile(r"[0-9a-f]{16}")

SPAN_KIND_INTERNAL = 1
SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3


# Helpers ---------------------------------------------------------------------


def example_env(**extra: str) -> dict[str, str]:
    """The current environment without OTel, ragtel or proxy settings, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OTEL_", "RAGTEL_", "LASTMILE_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_example(
    *args: str | Path, cwd: Path, env: dict[str, str], timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{args[0]} exited with {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def attribute_value(value: dict[str, Any]) -> Any:
    """Decode one OTLP JSON ``AnyValue``."""
    if "intValue" in value:
        return int(value["intValue"])  # int64 is a JSON string in OTLP JSON
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [attribute_value(item) for item in value["arrayValue"].get("values", [])]
    raise AssertionError(f"unexpected attribute value {value!r}")


def attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    for item in items:
        assert set(item) == {"key", "value"}, item
    return {item["key"]: attribute_value(item["value"]) for item in items}


@dataclass
class FileSpan:
    """A span read back from an OTLP JSON Lines file."""

    raw: dict[str, Any]
    service: str

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def trace_id(self) -> str:
        return str(self.raw["traceId"])

    @property
    def span_id(self) -> str:
        return str(self.raw["spanId"])

    @property
    def parent_id(self) -> str | None:
        return self.raw.get("parentSpanId") or None

    @property
    def kind(self) -> int:
        return int(self.raw.get("kind", 0))

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes(self.raw.get("attributes", []))


def read_jsonl_spans(path: Path) -> list[FileSpan]:
    """Every span in an OTLP JSON Lines file, checking the format on the way."""
    assert path.is_file(), f"{path} was not written"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, f"{path} is empty"
    spans = []
    for number, line in enumerate(lines, start=1):
        data = json.loads(line)
        assert isinstance(data, dict) and data.get("resourceSpans"), f"line {number}: {line[:200]}"
        for resource_spans in data["resourceSpans"]:
            resource = attributes(resource_spans["resource"]["attributes"])
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    assert HEX_TRACE_ID.fullmatch(span["traceId"]), span["traceId"]
                    assert HEX_SPAN_ID.fullmatch(span["spanId"]), span["spanId"]
                    if span.get("parentSpanId"):
                        assert HEX_SPAN_ID.fullmatch(span["parentSpanId"]), span["parentSpanId"]
                    check_otlp_json_span(span)
                    spans.append(FileSpan(span, str(resource.get("service.name"))))
    return spans


def only(spans: list[Any], name: str, **where: Any) -> Any:
    """The single span called ``name`` (optionally with matching properties)."""
    matches = [
        span
        for span in spans
        if span.name == name and all(getattr(span, key) == value for key, value in where.items())
    ]
    assert len(matches) == 1, (
        f"expected one {name!r} span, got {len(matches)}: {[s.name for s in spans]}"
    )
    return matches[0]


def console_spans(stdout: str) -> list[dict[str, Any]]:
    """Spans printed by the SDK's ConsoleSpanExporter: indented JSON objects, one per span."""
    spans, block = [], None
    for line in stdout.splitlines():
        if line == "{":
            block = [line]
        elif block is not None:
            block.append(line)
            if line == "}":
                spans.append(json.loads("\n".join(block)))
                block = None
    assert block is None, "unterminated span JSON in the console output"
    return spans


# A stand-in OTLP/HTTP Collector on loopback ----------------------------------


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    scope: str
    attributes: dict[str, Any]


def received(receiver: OTLPReceiver, count: int) -> list[ReceivedSpan]:
    """The spans the real OTLP receiver got, once ``count`` have arrived."""
    spans = receiver.wait_for_spans(count, timeout=20)
    assert receiver.errors() == []
    return [
        ReceivedSpan(
            name=span["name"],
            trace_id=span["trace_id"],
            span_id=span["span_id"],
            parent_id=span["parent_span_id"] or None,
            service=str(span["resource"].get("service.name", "")),
            scope=span["scope"],
            attributes=span["attributes"],
        )
        for span in spans
    ]


# quickstart.py ---------------------------------------------------------------

QUICKSTART_STEPS = ("split_into_chunks", "retrieve", "generate_answer")


def check_quickstart_trace(spans: list[Any]) -> None:
    assert sorted(span.name for span in spans) == sorted(("answer_question", *QUICKSTART_STEPS))
    root = only(spans, "answer_question")
    assert root.parent_id is None
    assert len({span.trace_id for span in spans}) == 1
    root_attributes = root.attributes
    assert root_attributes["ragtel.param.chunk_size"] == 12
    assert root_attributes["ragtel.param.top_k"] == 2
    assert root_attributes["ragtel.project.name"] == "support-bot"
    assert root_attributes["ragtel.rag_flow.type"] == "query"
    for name in QUICKSTART_STEPS:
        step = only(spans, name)
        assert step.parent_id == root.span_id
        # Trace-level attributes belong on the root only.
        assert "ragtel.param.chunk_size" not in step.attributes
    retrieve = only(spans, "retrieve").attributes
    assert json.loads(retrieve["ragtel.input"])["top_k"] == 2
    assert "refunds" in json.loads(retrieve["ragtel.input"])["question"].lower()
    assert len(json.loads(retrieve["ragtel.output"])) == 2
    assert json.loads(root.attributes["ragtel.input"]) == {
        "question": "How long do refunds take to reach my card?"
    }


@pytest.mark.integration
@pytest.mark.parametrize("traces_file", [None, "traces/quickstart.jsonl"])
def test_quickstart_writes_otlp_json_lines(tmp_path: Path, traces_file: str | None) -> None:
    extra = {"RAGTEL_TRACES_FILE": str(tmp_path / traces_file)} if traces_file else {}
    expected = tmp_path / (traces_file or "ragtel-traces.jsonl")

    result = run_example(EXAMPLES / "quickstart.py", cwd=tmp_path, env=example_env(**extra))

    spans = read_jsonl_spans(expected)
    check_quickstart_trace(spans)
    assert {span.raw["kind"] for span in spans} == {SPAN_KIND_INTERNAL}
    assert str(expected.resolve()) in result.stdout
    assert f"{len(spans)} spans in" in result.stdout
    # Only the expected file: nothing else written to the working directory.
    written = {path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()}
    assert written == {expected.relative_to(tmp_path)}


@pytest.mark.integration
def test_quickstart_appends_on_every_run(tmp_path: Path) -> None:
    env = example_env()
    run_example(EXAMPLES / "quickstart.py", cwd=tmp_path, env=env)
    second = run_example(EXAMPLES / "quickstart.py", cwd=tmp_path, env=env)

    spans = read_jsonl_spans(tmp_path / "ragtel-traces.jsonl")
    assert len(spans) == 8
    assert len({span.trace_id for span in spans}) == 2
    assert "8 spans in" in second.stdout


@pytest.mark.integration
def test_quickstart_follows_otel_exporter_otlp_endpoint(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    # What examples/collector/README.md tells users to do.
    env = example_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_SERVICE_NAME="support-bot",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=test",
    )
    result = run_example(EXAMPLES / "quickstart.py", cwd=tmp_path, env=env)

    spans = received(receiver, len(QUICKSTART_STEPS) + 1)
    assert {span["transport"] for span in receiver.spans()} == {"http"}
    check_quickstart_trace(spans)
    assert {span.service for span in spans} == {"support-bot"}
    assert not (tmp_path / "ragtel-traces.jsonl").exists()
    assert "No trace file was written" in result.stdout


@pytest.mark.integration
def test_quickstart_otlp_and_file_together(tmp_path: Path, receiver: OTLPReceiver) -> None:
    env = example_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_endpoint, OTEL_TRACES_EXPORTER="otlp,file"
    )
    run_example(EXAMPLES / "quickstart.py", cwd=tmp_path, env=env)

    spans = received(receiver, len(QUICKSTART_STEPS) + 1)
    check_quickstart_trace(spans)
    file_spans = read_jsonl_spans(tmp_path / "ragtel-traces.jsonl")
    check_quickstart_trace(file_spans)
    assert {s.span_id for s in file_spans} == {s.span_id for s in spans}


# existing_otel_app.py ----------------------------------------------------------

RAGTEL_STEPS = ("retrieve", "generate_answer")
APP_SPANS = ("load_settings", "POST /ask")


@pytest.mark.integration
def test_existing_otel_app_spans_go_to_the_apps_console_exporter(tmp_path: Path) -> None:
    result = run_example(EXAMPLES / "existing_otel_app.py", cwd=tmp_path, env=example_env())

    spans = console_spans(result.stdout)
    names = [span["name"] for span in spans]
    # Every span exactly once: ragtel added no second exporter.
    assert sorted(names) == sorted((*APP_SPANS, *RAGTEL_STEPS))
    by_name = {span["name"]: span for span in spans}
    request = by_name["POST /ask"]
    assert request["parent_id"] is None
    assert request["kind"] == "SpanKind.SERVER"
    for name in RAGTEL_STEPS:
        step = by_name[name]
        assert step["context"]["trace_id"] == request["context"]["trace_id"]
        assert step["parent_id"] == request["context"]["span_id"]
        assert "ragtel.input" in step["attributes"]
        assert "ragtel.output" in step["attributes"]
    assert by_name["load_settings"]["context"]["trace_id"] != request["context"]["trace_id"]
    # The app's provider (and its resource) was kept, not replaced.
    assert {span["resource"]["attributes"]["service.name"] for span in spans} == {"support-api"}
    # ragtel wrote no file of its own and did not fall back to its default export.
    assert list(tmp_path.iterdir()) == []
    assert "no exporter configured" not in result.stderr


@pytest.mark.integration
def test_existing_otel_app_with_otlp_endpoint(tmp_path: Path, receiver: OTLPReceiver) -> None:
    env = example_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_endpoint)
    result = run_example(EXAMPLES / "existing_otel_app.py", cwd=tmp_path, env=env)

    assert console_spans(result.stdout) == []
    spans = received(receiver, len(APP_SPANS) + len(RAGTEL_STEPS))
    assert sorted(span.name for span in spans) == sorted((*APP_SPANS, *RAGTEL_STEPS))
    request = only(spans, "POST /ask")
    for name in RAGTEL_STEPS:
        step = only(spans, name)
        assert (step.trace_id, step.parent_id) == (request.trace_id, request.span_id)
        assert step.scope == "support-rag"
    assert list(tmp_path.iterdir()) == []


# distributed/ ------------------------------------------------------------------


@pytest.mark.integration
def test_distributed_run_shares_one_trace(tmp_path: Path) -> None:
    traces = tmp_path / "shared.jsonl"
    result = run_example(
        EXAMPLES / "distributed" / "run.py",
        "--traces-file",
        traces,
        cwd=tmp_path,
        env=example_env(),
        timeout=90,
    )

    match = re.search(r"spans are in trace ([0-9a-f]{32})\s*$", result.stdout)
    assert match, result.stdout
    trace_id = match.group(1)
    spans = read_jsonl_spans(traces)
    assert {span.trace_id for span in spans} == {trace_id}
    assert sorted(span.name for span in spans) == sorted(
        ("answer_question", "POST /retrieve", "generate_answer", "POST /retrieve", "retrieve")
    )

    root = only(spans, "answer_question")
    client = only(spans, "POST /retrieve", kind=SPAN_KIND_CLIENT)
    server = only(spans, "POST /retrieve", kind=SPAN_KIND_SERVER)
    retrieve = only(spans, "retrieve")
    assert root.parent_id is None
    assert client.parent_id == root.span_id
    # The hand-over: the service's span is the child of the client's HTTP span.
    assert server.parent_id == client.span_id
    assert retrieve.parent_id == server.span_id
    assert {root.service, client.service} == {"support-frontend"}
    assert {server.service, retrieve.service} == {"retrieval-service"}
    # The service's span is its process's local root: it carries its tracer's trace attributes.
    assert server.attributes["ragtel.project.name"] == "support-bot"
    assert root.attributes["ragtel.param.top_k"] == 2


@pytest.mark.integration
@pytest.mark.skipif(sys.platform == "win32", reason="the service stops on SIGTERM")
def test_distributed_service_continues_or_starts_traces(tmp_path: Path) -> None:
    traces = tmp_path / "service.jsonl"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "distributed" / "service.py")],
        cwd=tmp_path,
        env=example_env(RAGTEL_TRACES_FILE=str(traces), RETRIEVAL_SERVICE_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def ask(traceparent: str) -> list[str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/retrieve",
            data=json.dumps({"question": "reset my password", "top_k": 1}).encode(),
            headers={"traceparent": traceparent},
            method="POST",
        )
        with opener.open(request, timeout=10) as response:
            assert response.status == 200
            return list(json.load(response)["chunks"])

    try:
        deadline = time.monotonic() + 15
        while True:
            assert service.poll() is None, service.communicate()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the service did not start listening"
                time.sleep(0.05)
        assert ask(f"00-{caller_trace}-{caller_span}-01") == [
            "Passwords can be reset from the login page."
        ]
        assert len(ask("not-a-traceparent")) == 1  # a bad header must not fail the request
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            _, stderr = service.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.communicate()
            raise
    assert service.returncode == 0, stderr

    servers = [span for span in read_jsonl_spans(traces) if span.kind == SPAN_KIND_SERVER]
    assert len(servers) == 2
    continued, fresh = sorted(servers, key=lambda span: span.trace_id != caller_trace)
    assert (continued.trace_id, continued.parent_id) == (caller_trace, caller_span)
    assert fresh.trace_id != caller_trace and fresh.parent_id is None


# collector/ ---------------------------------------------------------------------

TOP_LEVEL_KEYS = {"receivers", "processors", "exporters", "extensions", "connectors", "service"}
# Component types the configuration may use, all in otelcol-contrib.
RECEIVER_TYPES = {"otlp"}
PROCESSOR_TYPES = {"batch", "memory_limiter"}
EXPORTER_TYPES = {"file", "otlp", "otlp_grpc", "otlphttp", "otlp_http", "debug"}
COMPONENT_ID = re.compile(r"(?P<type>[a-z][a-z0-9_]*)(?:/[^/\s]+)?")


def component_type(component_id: str) -> str:
    match = COMPONENT_ID.fullmatch(component_id)
    assert match, f"{component_id!r} is not a valid component id"
    return match.group("type")


def test_collector_config_is_valid() -> None:
    config = yaml.safe_load((EXAMPLES / "collector" / "otel-collector-config.yaml").read_text())
    assert set(config) <= TOP_LEVEL_KEYS

    sections = {
        "receivers": RECEIVER_TYPES,
        "processors": PROCESSOR_TYPES,
        "exporters": EXPORTER_TYPES,
    }
    for section, known in sections.items():
        for component_id in config[section]:
            assert component_type(component_id) in known, f"unknown {section} type: {component_id}"

    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    exporters = config["exporters"]
    file_exporters = [key for key in exporters if component_type(key) == "file"]
    assert file_exporters and all(exporters[key]["path"] for key in file_exporters)
    backend = [key for key in exporters if component_type(key) in {"otlp", "otlp_grpc"}]
    assert backend and all(exporters[key]["endpoint"] for key in backend)

    pipelines = config["service"]["pipelines"]
    assert {component_type(name) for name in pipelines} == {"traces", "logs"}
    used: dict[str, set[str]] = {section: set() for section in sections}
    for name, pipeline in pipelines.items():
        assert set(pipeline) <= {"receivers", "processors", "exporters"}, name
        assert pipeline["receivers"] and pipeline["exporters"], name
        assert "batch" in pipeline.get("processors", []), name
        for section in sections:
            for component_id in pipeline.get(section, []):
                assert component_id in config[section], f"{name} uses undefined {component_id}"
                used[section].add(component_id)
    # The Collector ignores components no pipeline uses: that would be a mistake here.
    for section in sections:
        assert used[section] == set(config[section]), f"unused {section}"


def test_collector_readme_matches_the_config() -> None:
    readme = (EXAMPLES / "collector" / "README.md").read_text()
    assert "otelcol-contrib --config examples/collector/otel-collector-config.yaml" in readme
    for variable in (
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
        "OTEL_SERVICE_NAME=",
        "OTEL_RESOURCE_ATTRIBUTES=",
    ):
        assert variable in readme
