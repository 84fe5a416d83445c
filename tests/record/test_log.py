"""log(): data as OpenTelemetry log records, correlated with the current span."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import _logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.util._once import Once

from otlp_receiver import OTLPReceiver
from ragtel import get_lastmile_tracer
from ragtel._sdk.exporters import logs_path_for
from ragtel._sdk.log_pipeline import MAX_PATH_LOGGERS
from ragtel.semconv.attributes import RAGTEL_LOG_DATA_TYPE
from ragtel.semconv.events import RAGTEL_LOG_EVENT
from semconv_check import check_otlp_json_log_record


def file_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text().splitlines():
        for resource_logs in json.loads(line)["resourceLogs"]:
            for scope_logs in resource_logs["scopeLogs"]:
                records.extend(scope_logs["logRecords"])
    for record in records:
        check_otlp_json_log_record(record)
    return records


def attribute(record: dict[str, Any], key: str) -> Any:
    return next(a["value"]["stringValue"] for a in record["attributes"] if a["key"] == key)


def ids_of(span: Any) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_log_records_go_to_the_logs_file_beside_the_traces_file(tmp_path: Path) -> None:
    tracer = get_lastmile_tracer("app", output_filepath=tmp_path / "ragtel-traces.jsonl")
    with tracer.start_as_current_span("answer") as answer:
        tracer.log({"stage": "retrieval", "api_key": "sk-secret-1"})
        with tracer.start_as_current_span("generate") as generate:
            tracer.log(["draft", 1])
    tracer.log("outside any span")
    assert tracer.force_flush()

    first, second, third = file_records(tmp_path / "ragtel-logs.jsonl")
    assert (first["traceId"], first["spanId"]) == ids_of(answer)
    assert (second["traceId"], second["spanId"]) == ids_of(generate)
    assert "traceId" not in third or not third["traceId"].strip("0")
    assert first["eventName"] == RAGTEL_LOG_EVENT
    assert first["severityText"] == "INFO"
    assert first["body"]["stringValue"] == "{'stage': 'retrieval', 'api_key': '[REDACTED]'}"
    assert attribute(first, RAGTEL_LOG_DATA_TYPE) == "dict"
    assert second["body"]["stringValue"] == "['draft', 1]"
    assert third["body"]["stringValue"] == "'outside any span'"
    tracer.shutdown()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_log_records_go_to_the_logs_endpoint_of_the_same_collector(
    receiver: OTLPReceiver, protocol: str
) -> None:
    endpoint = receiver.http_endpoint if protocol == "http/protobuf" else receiver.grpc_endpoint
    tracer = get_lastmile_tracer(
        "app", otlp_endpoint=endpoint, otlp_protocol=protocol, lastmile_api_token="tok-1"
    )
    with tracer.start_as_current_span("answer") as answer:
        tracer.log(42)
    assert tracer.force_flush()

    (record,) = receiver.wait_for_log_records(1)
    assert (record["trace_id"], record["span_id"]) == ids_of(answer)
    # The receiver's OTLP schema predates LogRecord.event_name, so the event
    # name is checked in the file test only.
    assert record["body"] == "42"
    assert record["attributes"][RAGTEL_LOG_DATA_TYPE] == "int"
    assert record["scope"] == "app"
    assert record["headers"].get("authorization") == "Bearer tok-1"
    (request,) = receiver.requests("logs")
    for resource_logs in request["request"]["resourceLogs"]:
        for scope_logs in resource_logs["scopeLogs"]:
            for raw in scope_logs["logRecords"]:
                check_otlp_json_log_record(raw)
    tracer.shutdown()


def test_a_path_logger_gets_the_record_at_once(tmp_path: Path) -> None:
    tracer = get_lastmile_tracer("app", exporter="none")
    target = tmp_path / "debug" / "retrieval.jsonl"
    with tracer.start_as_current_span("answer") as answer:
        tracer.log({"chunks": 3}, logger=str(target))
        tracer.log("second", logger=target)  # a PathLike too
    (first, second) = file_records(target)  # no flush needed
    assert (first["traceId"], first["spanId"]) == ids_of(answer)
    assert second["body"]["stringValue"] == "'second'"
    assert (target.stat().st_mode & 0o777) == 0o600


def test_a_logging_logger_gets_the_repr_at_info(caplog: pytest.LogCaptureFixture) -> None:
    tracer = get_lastmile_tracer("app", exporter="none")
    logger = logging.getLogger("myapp.debug")
    with caplog.at_level(logging.INFO, logger="myapp.debug"):
        tracer.log({"password": "hunter2", "n": 1}, logger=logger)
    (record,) = [r for r in caplog.records if r.name == "myapp.debug"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "{'password': '[REDACTED]', 'n': 1}"
    assert record.pathname == __file__  # attributed to the caller, not to ragtel


def test_an_unknown_logger_raises_type_error() -> None:
    tracer = get_lastmile_tracer("app", exporter="none")
    with pytest.raises(TypeError, match=r"logger must be a logging\.Logger, a file path or None"):
        tracer.log("x", logger=42)  # type: ignore[arg-type]


@pytest.fixture
def global_logger_provider() -> Iterator[InMemoryLogRecordExporter]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    _logs.set_logger_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        _logs._internal._LOGGER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
        _logs._internal._LOGGER_PROVIDER = None  # type: ignore[attr-defined]


def test_the_apps_own_logger_provider_wins(
    tmp_path: Path, global_logger_provider: InMemoryLogRecordExporter
) -> None:
    tracer = get_lastmile_tracer("app", output_filepath=tmp_path / "traces.jsonl")
    with tracer.start_as_current_span("answer") as answer:
        tracer.log("via the app")
    tracer.force_flush()
    (record,) = global_logger_provider.get_finished_logs()
    assert record.log_record.body == "'via the app'"
    assert record.log_record.span_id == answer.get_span_context().span_id
    assert not (tmp_path / "traces.logs.jsonl").exists()


def test_with_nowhere_to_go_log_warns_once_and_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracer = get_lastmile_tracer("app", tracer_provider=TracerProvider())
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        tracer.log("first")
        tracer.log("second")
    warnings = [r for r in caplog.records if "log() records have nowhere to go" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("traces", "logs"),
    [
        ("ragtel-traces.jsonl", "ragtel-logs.jsonl"),
        ("/data/run-traces-7.jsonl", "/data/run-logs-7.jsonl"),
        ("out/run.jsonl", "out/run.logs.jsonl"),
        ("spans", "spans.logs.jsonl"),
    ],
)
def test_logs_file_names(traces: str, logs: str) -> None:
    assert logs_path_for(traces) == logs


def test_a_traces_only_endpoint_in_the_environment_also_takes_the_log_records(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's log exporter would not read OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    # ragtel hands it the same collector's logs URL.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.traces_url)
    tracer = get_lastmile_tracer("env-app", set_global=False)
    with tracer.start_as_current_span("answer") as answer:
        tracer.log("from the environment")
    assert tracer.force_flush()
    (record,) = receiver.wait_for_log_records(1)
    assert record["body"] == "'from the environment'"
    assert (record["trace_id"], record["span_id"]) == ids_of(answer)
    tracer.shutdown()


def test_a_tracer_name_that_utf8_cannot_encode_still_exports_its_records(tmp_path: Path) -> None:
    # The name is the records' instrumentation scope: with a lone surrogate in
    # it, the encoder refused the whole batch of records (and of spans).
    tracer = get_lastmile_tracer("app-\udcff", output_filepath=tmp_path / "ragtel-traces.jsonl")
    with tracer.start_as_current_span("answer"):
        tracer.log("kept")
    assert tracer.force_flush()
    assert tracer.dropped_span_count() == 0
    (record,) = file_records(tmp_path / "ragtel-logs.jsonl")
    assert record["body"]["stringValue"] == "'kept'"
    scopes = json.loads((tmp_path / "ragtel-logs.jsonl").read_text())["resourceLogs"][0]
    assert scopes["scopeLogs"][0]["scope"]["name"] == "app-\\udcff"
    tracer.shutdown()


@pytest.mark.integration
def test_the_logs_sdk_loads_with_the_first_log_call(tmp_path: Path) -> None:
    traces = tmp_path / "ragtel-traces.jsonl"
    script = (
        "import sys, ragtel\n"
        f"tracer = ragtel.get_lastmile_tracer('app', output_filepath={str(traces)!r})\n"
        "before = 'opentelemetry.sdk._logs' in sys.modules\n"
        "tracer.log('first')\n"
        "print(before, 'opentelemetry.sdk._logs' in sys.modules)\n"
        "tracer.shutdown()\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.split() == ["False", "True"]
    (record,) = file_records(tmp_path / "ragtel-logs.jsonl")
    assert record["body"]["stringValue"] == "'first'"


def test_an_exporter_added_later_also_gets_the_records(tmp_path: Path) -> None:
    # The pipeline mirrors the exporters as they are at each record: a tracer that
    # adds a file to the same provider makes the next records go to both logs files.
    first = get_lastmile_tracer("first", output_filepath=tmp_path / "one-traces.jsonl")
    first.log("before")
    get_lastmile_tracer("second", output_filepath=tmp_path / "two-traces.jsonl")
    first.log("after")
    assert first.force_flush()
    bodies = {
        name: [r["body"]["stringValue"] for r in file_records(tmp_path / name)]
        for name in ("one-logs.jsonl", "two-logs.jsonl")
    }
    assert bodies == {"one-logs.jsonl": ["'before'", "'after'"], "two-logs.jsonl": ["'after'"]}
    first.shutdown()


def test_path_loggers_past_the_open_file_limit_still_get_every_record(tmp_path: Path) -> None:
    tracer = get_lastmile_tracer("app", exporter="none")
    paths = [tmp_path / f"debug-{index}.jsonl" for index in range(MAX_PATH_LOGGERS + 1)]
    for index, path in enumerate(paths):
        tracer.log(index, logger=path)
    tracer.log("again", logger=paths[0])  # its file was closed first: it opens again
    assert [r["body"]["stringValue"] for r in file_records(paths[0])] == ["0", "'again'"]
    assert [r["body"]["stringValue"] for r in file_records(paths[-1])] == [str(len(paths) - 1)]


def test_after_shutdown_records_have_nowhere_to_go(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = get_lastmile_tracer("app", output_filepath=tmp_path / "ragtel-traces.jsonl")
    tracer.log("kept")
    tracer.shutdown()
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        tracer.log("after shutdown")
    (record,) = file_records(tmp_path / "ragtel-logs.jsonl")
    assert record["body"]["stringValue"] == "'kept'"
    assert any("log() records have nowhere to go" in r.getMessage() for r in caplog.records)
