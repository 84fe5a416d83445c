"""Provider resolution: explicit wins, the app's SDK provider is reused, else one is created."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragtel import get_lastmile_tracer
from ragtel._sdk.batching import CountingBatchSpanProcessor
from ragtel._sdk.processor import RagtelSpanProcessor
from semconv_check import LiveCheck


def processors_of(provider: TracerProvider) -> tuple[object, ...]:
    """The provider's processors, without the test suite's own live check."""
    processors = provider._active_span_processor._span_processors  # type: ignore[attr-defined]
    return tuple(p for p in processors if not isinstance(p, LiveCheck))


def app_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_explicit_provider_wins_over_the_global_one() -> None:
    global_provider, global_exporter = app_provider()
    trace.set_tracer_provider(global_provider)
    explicit, explicit_exporter = app_provider()
    tracer = get_lastmile_tracer("explicit", tracer_provider=explicit)
    with tracer.start_as_current_span("span"):
        pass
    assert [s.name for s in explicit_exporter.get_finished_spans()] == ["span"]
    assert global_exporter.get_finished_spans() == ()
    assert tracer.tracer_provider is explicit


def test_existing_global_provider_is_reused_once_without_a_second_exporter() -> None:
    provider, exporter = app_provider()
    trace.set_tracer_provider(provider)
    app_tracer = trace.get_tracer("app")

    tracers = [get_lastmile_tracer(f"t{i}", project_name="p") for i in range(5)]
    with app_tracer.start_as_current_span("request"):
        for tracer in tracers:
            with tracer.start_as_current_span(tracer.name):
                pass

    names = [span.name for span in exporter.get_finished_spans()]
    assert sorted(names) == sorted(["request", "t0", "t1", "t2", "t3", "t4"])  # each exactly once
    processors = processors_of(provider)
    assert sum(isinstance(p, RagtelSpanProcessor) for p in processors) == 1
    assert not any(isinstance(p, CountingBatchSpanProcessor) for p in processors)
    assert len(processors) == 2
    assert not Path("ragtel-traces.jsonl").exists()


def test_output_filepath_on_a_reused_provider_adds_one_file_exporter(tmp_path: Path) -> None:
    provider, _ = app_provider()
    trace.set_tracer_provider(provider)
    target = tmp_path / "traces.jsonl"
    first = get_lastmile_tracer("a", output_filepath=target)
    get_lastmile_tracer("b", output_filepath=str(target))
    exporters = [p for p in processors_of(provider) if isinstance(p, CountingBatchSpanProcessor)]
    assert len(exporters) == 1
    with first.start_as_current_span("to-file"):
        pass
    first.force_flush()
    assert "to-file" in target.read_text()


def test_without_a_provider_ragtel_creates_and_installs_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ragtel")
    tracer = get_lastmile_tracer("fresh")
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    assert tracer.tracer_provider is provider
    # Another instrumentation's tracer joins the same trace through the global provider.
    with (
        tracer.start_as_current_span("outer") as outer,
        trace.get_tracer("other").start_as_current_span("inner") as inner,
    ):
        assert inner.get_span_context().trace_id == outer.get_span_context().trace_id
    tracer.force_flush()
    default_file = Path("ragtel-traces.jsonl").resolve()
    assert default_file.exists()
    assert '"inner"' in default_file.read_text()
    messages = [record.getMessage() for record in caplog.records]
    assert sum(str(default_file) in message for message in messages) == 1
    get_lastmile_tracer("second")  # the location is said once, not per tracer
    assert sum(str(default_file) in r.getMessage() for r in caplog.records) == 1


def test_set_global_false_leaves_the_global_provider_alone(tmp_path: Path) -> None:
    tracer = get_lastmile_tracer("private", set_global=False, output_filepath=tmp_path / "t.jsonl")
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert isinstance(tracer.tracer_provider, TracerProvider)
    other = get_lastmile_tracer("private-2", set_global=False)
    assert other.tracer_provider is tracer.tracer_provider


def test_default_file_path_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "custom" / "spans.jsonl"
    monkeypatch.setenv("RAGTEL_TRACES_FILE", str(target))
    tracer = get_lastmile_tracer("env-file")
    with tracer.start_as_current_span("s"):
        pass
    tracer.force_flush()
    assert target.exists() and oct(target.stat().st_mode & 0o777) == "0o600"


def test_resource_comes_from_the_standard_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "rag-api")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,team=search")
    get_lastmile_tracer("res", exporter="none")
    provider = trace.get_tracer_provider()
    attributes = provider.resource.attributes  # type: ignore[attr-defined]
    assert attributes["service.name"] == "rag-api"
    assert attributes["deployment.environment"] == "staging"
    assert attributes["team"] == "search"


@pytest.mark.parametrize(
    ("env_value", "expected"),
    [("none", []), ("console", ["console"]), ("otlp,console", ["otlp", "console"])],
)
def test_otel_traces_exporter_chooses_exporters(
    monkeypatch: pytest.MonkeyPatch, env_value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", env_value)
    get_lastmile_tracer("env-exporters")
    provider = trace.get_tracer_provider()
    labels = [p.label for p in processors_of(provider) if isinstance(p, CountingBatchSpanProcessor)]  # type: ignore[attr-defined]
    assert labels == expected
    assert not Path("ragtel-traces.jsonl").exists()


def test_created_providers_allow_many_attributes_per_span() -> None:
    tracer = get_lastmile_tracer("wide", exporter="none")
    with tracer.start_as_current_span("wide") as span:
        span.set_attributes({f"k{i}": i for i in range(500)})
        assert len(span.attributes) == 500  # type: ignore[attr-defined]


def test_construction_does_no_network_io_and_leaves_environ_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LASTMILE_API_TOKEN", "tok-from-env")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    before = dict(os.environ)
    try:
        get_lastmile_tracer(
            "g", exporter="otlp", otlp_protocol="grpc", otlp_endpoint=f"http://127.0.0.1:{port}"
        )
        get_lastmile_tracer(
            "h", exporter="otlp", otlp_endpoint=f"http://127.0.0.1:{port}", set_global=False
        )
        assert dict(os.environ) == before
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_non_sdk_global_provider_is_used_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    trace.set_tracer_provider(trace.NoOpTracerProvider())
    tracer = get_lastmile_tracer("noop", output_filepath="ignored.jsonl")
    with tracer.start_as_current_span("x") as span:
        assert not span.is_recording()
    assert "not an OpenTelemetry SDK provider" in caplog.text
    assert tracer.force_flush() is True


def test_a_failed_first_call_leaves_no_half_installed_provider(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="otlp_certificate must be a readable CA file"):
        get_lastmile_tracer(
            "bad-cert",
            exporter="otlp",
            otlp_protocol="grpc",
            otlp_endpoint="https://127.0.0.1:4317",
            otlp_certificate=str(tmp_path / "missing-ca.pem"),
        )
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    tracer = get_lastmile_tracer("good")  # the next call still gets the default file
    with tracer.start_as_current_span("kept"):
        pass
    tracer.force_flush()
    assert '"kept"' in Path("ragtel-traces.jsonl").read_text()


def test_shut_down_exporters_are_rebuilt_on_a_later_request(tmp_path: Path) -> None:
    provider, _ = app_provider()
    trace.set_tracer_provider(provider)
    target = tmp_path / "t.jsonl"
    first = get_lastmile_tracer("first", output_filepath=target)
    with first.start_as_current_span("before"):
        pass
    first.shutdown()
    second = get_lastmile_tracer("second", output_filepath=target)
    with second.start_as_current_span("after"):
        pass
    assert second.force_flush()
    text = target.read_text()
    assert '"before"' in text and '"after"' in text
    assert second.dropped_span_count() == 0


def test_a_second_call_with_other_arguments_warns_and_names_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, _ = app_provider()
    get_lastmile_tracer("same", tracer_provider=provider, project_name="a")
    assert get_lastmile_tracer("same") is get_lastmile_tracer("same", project_name="a")
    assert "already exists" not in caplog.text
    get_lastmile_tracer("same", capture_content=False, mask=lambda v: v, lastmile_api_token="s3")
    message = next(r.getMessage() for r in caplog.records if "already exists" in r.getMessage())
    assert "capture_content" in message and "mask" in message and "lastmile_api_token" in message
    assert "s3" not in caplog.text


def test_initial_params_are_redacted_and_masked(tmp_path: Path) -> None:
    from ragtel.testing import capture_spans

    with capture_spans() as recorder:
        tracer = recorder.tracer(
            "params",
            initial_params={"openai_api_key": "sk-LIVE-1", "db_password": "x", "model": "gpt"},
            mask=lambda value: value.upper() if isinstance(value, str) else value,
        )
        with tracer.start_as_current_span("root"):
            pass
        attributes = recorder.by_name("root").attributes
    assert attributes["ragtel.param.openai_api_key"] == "[REDACTED]"
    assert attributes["ragtel.param.db_password"] == "[REDACTED]"
    assert attributes["ragtel.param.model"] == "GPT"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
def test_an_otlp_timeout_that_is_not_a_positive_number_is_refused(timeout: object) -> None:
    with pytest.raises(ValueError, match="otlp_timeout must be a positive number of seconds"):
        get_lastmile_tracer("bad-timeout", otlp_timeout=timeout, set_global=False)  # type: ignore[arg-type]


def _span_names(path: Path) -> list[str]:
    return [
        span["name"]
        for line in path.read_text().splitlines()
        for resource_spans in json.loads(line)["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


@pytest.mark.parametrize("provider_owner", ["ragtel", "app"])
def test_after_shutdown_the_same_name_gives_a_tracer_that_exports_again(
    provider_owner: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if provider_owner == "app":
        provider, _ = app_provider()
        trace.set_tracer_provider(provider)
    target = tmp_path / "t.jsonl"
    first = get_lastmile_tracer("svc", output_filepath=target, project_name="p")
    with first.start_as_current_span("before"):
        pass
    first.shutdown()
    again = get_lastmile_tracer("svc")  # the same name, no arguments: set up as before
    assert again is not first
    assert again.output_filepaths == [str(target)]
    with again.start_as_current_span("after") as span:
        again.register_param("k", 1)
    assert span.attributes is not None and span.attributes["ragtel.project.name"] == "p"
    assert again.force_flush()
    assert _span_names(target) == ["before", "after"]
    assert again.dropped_span_count() == 0
    assert get_lastmile_tracer("svc") is again
    assert "exporters were shut down" not in caplog.text
    again.shutdown()


def test_spans_of_a_tracer_kept_after_shutdown_are_counted_as_dropped_and_warned_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "t.jsonl"
    tracer = get_lastmile_tracer("svc", output_filepath=target)
    with tracer.start_as_current_span("before"):
        pass
    tracer.shutdown()
    for _ in range(3):
        with tracer.start_as_current_span("lost"):
            pass
    assert tracer.dropped_span_count() == 3
    assert caplog.text.count("exporters were shut down") == 1
    assert _span_names(target) == ["before"]
