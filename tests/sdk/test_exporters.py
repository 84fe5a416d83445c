"""Building the exporters a configuration names (``ragtel._sdk.exporters``)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from ragtel import get_lastmile_tracer
from ragtel._config import ExportConfig
from ragtel._sdk.batching import CountingBatchSpanProcessor
from ragtel._sdk.exporters import build_processors, logs_path_for


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    """Providers a test builds, shut down after it (this file's own: no other test needs it)."""
    providers: list[TracerProvider] = []
    yield providers
    for provider in providers:
        provider.shutdown()


def provider_for(config: ExportConfig, providers: list[TracerProvider]) -> TracerProvider:
    provider = TracerProvider()
    providers.append(provider)
    for processor in build_processors(config):
        provider.add_span_processor(processor)
    return provider


def test_one_batching_processor_per_exporter_in_order(tmp_path: Path) -> None:
    config = ExportConfig(("file", "console"), file_path=str(tmp_path / "t.jsonl"))
    processors = build_processors(config)
    try:
        assert [type(p) for p in processors] == [CountingBatchSpanProcessor] * 2
        assert [p.label for p in processors] == ["file", "console"]
    finally:
        for processor in processors:
            processor.shutdown()


def test_no_exporter_builds_no_processor() -> None:
    assert build_processors(ExportConfig(())) == []


def test_the_file_exporter_writes_each_span_as_an_otlp_json_line(
    tmp_path: Path, providers: list[TracerProvider]
) -> None:
    path = tmp_path / "t.jsonl"
    provider = provider_for(ExportConfig(("file",), file_path=str(path)), providers)
    provider.get_tracer("t").start_span("written").end()
    assert provider.force_flush(10_000)
    (line,) = path.read_text().splitlines()
    scope_spans = json.loads(line)["resourceSpans"][0]["scopeSpans"]
    assert [span["name"] for span in scope_spans[0]["spans"]] == ["written"]


def test_the_console_exporter_prints_spans(
    capfd: pytest.CaptureFixture[str], providers: list[TracerProvider]
) -> None:
    provider = provider_for(ExportConfig(("console",)), providers)
    provider.get_tracer("t").start_span("printed").end()
    assert provider.force_flush(10_000)
    assert '"name": "printed"' in capfd.readouterr().out


def test_the_default_file_is_announced_as_a_warning_and_a_chosen_one_as_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ragtel")
    path = tmp_path / "t.jsonl"
    for is_default in (True, False):
        config = ExportConfig(("file",), file_path=str(path), is_default_file=is_default)
        for processor in build_processors(config):
            processor.shutdown()
    announced = [(r.levelno, r.getMessage()) for r in caplog.records if str(path) in r.getMessage()]
    assert announced == [
        (
            logging.WARNING,
            f"ragtel: no exporter configured; writing traces as OTLP JSON Lines to {path}",
        ),
        (logging.INFO, f"ragtel: writing traces as OTLP JSON Lines to {path}"),
    ]


@pytest.mark.parametrize(
    ("traces", "logs"),
    [
        ("ragtel-traces.jsonl", "ragtel-logs.jsonl"),
        ("run.jsonl", "run.logs.jsonl"),
        ("run", "run.logs.jsonl"),
        ("traces/traces-1.jsonl", "traces/logs-1.jsonl"),  # the file's name only
    ],
)
def test_the_logs_file_sits_beside_the_traces_file(traces: str, logs: str) -> None:
    assert logs_path_for(traces) == logs


class _Collector(BaseHTTPRequestHandler):
    """Accepts every OTLP/HTTP request and notes its path."""

    paths: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[str]]]:
    """A plain OTLP/HTTP endpoint on loopback, and the paths of the requests it got.

    This file's own: the other tests need a receiver that decodes what it gets.
    """
    paths: list[str] = []
    handler = type("Handler", (_Collector,), {"paths": paths})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


def test_log_records_go_to_the_logs_path_of_the_collector_spans_go_to(
    collector: tuple[str, list[str]],
) -> None:
    base_url, paths = collector
    tracer = get_lastmile_tracer("to-collector", otlp_endpoint=base_url, set_global=False)
    try:
        with tracer.start_as_current_span("answer"):
            tracer.log({"step": "retrieved"})
        assert tracer.force_flush(10_000)
    finally:
        tracer.shutdown()
    assert sorted(set(paths)) == ["/v1/logs", "/v1/traces"]
