"""Where a tracer is obtained, ``get_lastmile_tracer`` keeps OpenTelemetry's contract.

Tracers are obtained the ways OTel code obtains them: with the instrumentation
scope's version, schema URL and attributes, with an empty or missing name, and
for two providers under one name. What each span records, and which provider
it reached, is read back from real SDK providers.
"""

from __future__ import annotations

import gc
import logging
import weakref

import pytest
from opentelemetry.sdk.trace import TracerProvider

from ragtel import get_lastmile_tracer
from ragtel._state import STATE
from ragtel.testing import SpanRecorder, capture_spans


def test_scope_version_schema_url_and_attributes_are_recorded(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(
        "my.instrumentation",
        instrumenting_library_version="1.3b3",
        schema_url="https://opentelemetry.io/schemas/1.26.0",
        attributes={"library.flavor": "sync", "library.shards": 2},
    )
    with tracer.start_as_current_span("work"):
        pass
    scope = ragtel_spans.by_name("work").instrumentation_scope
    assert scope is not None
    assert (scope.name, scope.version, scope.schema_url) == (
        "my.instrumentation",
        "1.3b3",
        "https://opentelemetry.io/schemas/1.26.0",
    )
    assert scope.attributes is not None
    assert dict(scope.attributes) == {"library.flavor": "sync", "library.shards": 2}


@pytest.mark.parametrize(
    "version", ["1.3b3", "0.1.0", "2.0.0rc1", "1.2.3-alpha.1+build.5", "1!2.0"]
)
def test_a_version_in_second_place_is_the_scope_version_not_a_token(
    ragtel_spans: SpanRecorder, version: str
) -> None:
    # OTel's positional order: get_tracer(name, version, tracer_provider, schema_url, attributes).
    tracer = get_lastmile_tracer(
        "positional.lib", version, ragtel_spans.provider, "https://example.com/schema"
    )
    with tracer.start_as_current_span("work"):
        pass
    scope = ragtel_spans.by_name("work").instrumentation_scope
    assert scope is not None and scope.version == version
    assert scope.schema_url == "https://example.com/schema"
    assert tracer.tracer_provider is ragtel_spans.provider


@pytest.mark.parametrize("token", ["sk-live-abcdef0123456789", "1", "12345", "x" * 41 + ".1"])
def test_a_second_argument_that_is_no_version_stays_the_token(
    ragtel_spans: SpanRecorder, token: str
) -> None:
    tracer = get_lastmile_tracer("token.lib", token, tracer_provider=ragtel_spans.provider)
    with tracer.start_as_current_span("work"):
        pass
    scope = ragtel_spans.by_name("work").instrumentation_scope
    assert scope is not None and not scope.version  # the SDK writes a missing version as ""


def test_a_version_given_both_ways_or_of_the_wrong_type_raises(
    ragtel_spans: SpanRecorder,
) -> None:
    provider = ragtel_spans.provider
    with pytest.raises(TypeError, match="instrumenting_library_version both by position"):
        get_lastmile_tracer("v", "1.0", instrumenting_library_version="1.0")
    with pytest.raises(TypeError, match="instrumenting_library_version must be a str"):
        get_lastmile_tracer("v", instrumenting_library_version=1.0, tracer_provider=provider)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="attributes must be a mapping"):
        get_lastmile_tracer("v", attributes=[("a", 1)], tracer_provider=provider)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tracer_provider must be a TracerProvider"):
        get_lastmile_tracer("v", "1.0", "not a provider")
    with pytest.raises(TypeError, match="at most 5 positional arguments"):
        get_lastmile_tracer("v", "1.0", provider, None, None, None)


@pytest.mark.parametrize("name", ["", None])
def test_an_empty_or_missing_name_logs_one_error_and_gives_a_working_tracer(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture, name: str | None
) -> None:
    with caplog.at_level(logging.ERROR, logger="ragtel"):
        tracer = get_lastmile_tracer(name, tracer_provider=ragtel_spans.provider)
        again = get_lastmile_tracer(name, tracer_provider=ragtel_spans.provider)
    assert again is tracer
    with tracer.start_as_current_span("work"):
        tracer.register_param("chunk_size", 512)
    span = ragtel_spans.by_name("work")
    assert span.instrumentation_scope is not None and span.instrumentation_scope.name == ""
    assert span.attributes is not None and span.attributes["ragtel.param.chunk_size"] == 512
    # ragtel's own error, once (the SDK provider logs its own too, each time it is asked).
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "ragtel"]
    assert len(errors) == 1 and "invalid tracer name" in errors[0].getMessage()


def test_a_name_of_another_type_still_raises(ragtel_spans: SpanRecorder) -> None:
    with pytest.raises(TypeError, match="tracer_name must be a str"):
        get_lastmile_tracer(b"name", tracer_provider=ragtel_spans.provider)  # type: ignore[arg-type]


def test_one_name_on_two_providers_sends_each_span_to_the_provider_asked_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with capture_spans() as first, capture_spans() as second:
        on_first = first.tracer("shared", project_name="p")
        on_second = second.tracer("shared", project_name="p")
        assert on_first is not on_second
        assert on_second.tracer_provider is second.provider
        with on_first.start_as_current_span("meant for the first"):
            pass
        with on_second.start_as_current_span("meant for the second"):
            pass
        assert first.names() == ["meant for the first"]
        assert second.names() == ["meant for the second"]
        # Each provider keeps its own tracer for the name; no name means the first one.
        assert second.tracer("shared") is on_second
        assert first.tracer("shared") is on_first
        assert get_lastmile_tracer("shared") is on_first
    assert "already exists" not in caplog.text


def test_a_second_provider_tracer_warns_about_arguments_it_ignores(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with capture_spans() as first, capture_spans() as second:
        first.tracer("shared")
        kept = second.tracer("shared", project_name="a")
        assert second.tracer("shared", project_name="b") is kept
    message = next(r.getMessage() for r in caplog.records if "already exists" in r.getMessage())
    assert "project_name" in message and "tracer_provider" not in message


def test_tracers_of_dropped_providers_are_not_kept() -> None:
    # shutdown_on_exit=False: otherwise the SDK's own exit hook keeps every provider alive.
    get_lastmile_tracer("kept", tracer_provider=TracerProvider(shutdown_on_exit=False))
    providers = []
    for _ in range(50):
        provider = TracerProvider(shutdown_on_exit=False)
        get_lastmile_tracer("kept", tracer_provider=provider)
        providers.append(weakref.ref(provider))
        del provider
    gc.collect()
    assert all(reference() is None for reference in providers)
    assert len(STATE.tracers_by_provider) == 0 and len(STATE.provider_recipes) == 0
