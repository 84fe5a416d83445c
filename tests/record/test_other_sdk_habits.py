"""Other SDKs' habits mapped onto ragtel's model: Opik, Adaline, Tracium and tatara."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from ragtel import RAGEventType
from ragtel.semconv import attributes as attrs
from ragtel.semconv.events import GEN_AI_EVALUATION_RESULT_EVENT
from ragtel.semconv.references import GEN_AI_EVALUATION_NAME, GEN_AI_EVALUATION_SCORE_VALUE
from ragtel.semconv.spans import RAGTEL_FEEDBACK_SPAN
from ragtel.testing import SpanRecorder


def evaluation_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [
        dict(e.attributes or {}) for e in span.events if e.name == GEN_AI_EVALUATION_RESULT_EVENT
    ]


# Numeric feedback on any finite scale ----------------------------------------------


def test_a_score_outside_zero_to_one_is_recorded_as_given(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_numeric_feedback(7.5, name="opik-score")
        tracer.log_numeric_feedback(-2)
    first, second = evaluation_events(ragtel_spans.by_name("answer"))
    assert first[attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC] == 7.5
    assert first[GEN_AI_EVALUATION_SCORE_VALUE] == 7.5
    assert first[GEN_AI_EVALUATION_NAME] == "opik-score"
    assert attrs.RAGTEL_FEEDBACK_SCALE_MIN not in first
    assert attrs.RAGTEL_FEEDBACK_SCALE_MAX not in first
    assert second[attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC] == -2.0


def test_a_star_rating_records_the_raw_value_and_its_scale(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as answer:
        context = answer.get_span_context()
    tracer.log_numeric_feedback(
        4, f"{context.trace_id:032x}", f"{context.span_id:016x}", name="stars", scale=(1, 5)
    )
    (carrier,) = [s for s in ragtel_spans.spans if s.name == RAGTEL_FEEDBACK_SPAN]
    recorded = dict(carrier.attributes or {})
    assert recorded[attrs.RAGTEL_FEEDBACK_KIND] == "numeric"
    assert recorded[attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC] == 4.0
    assert recorded[GEN_AI_EVALUATION_SCORE_VALUE] == 4.0
    assert recorded[attrs.RAGTEL_FEEDBACK_SCALE_MIN] == 1.0
    assert recorded[attrs.RAGTEL_FEEDBACK_SCALE_MAX] == 5.0
    assert recorded[attrs.RAGTEL_FEEDBACK_TARGET_SPAN_ID] == f"{context.span_id:016x}"


def test_the_bounds_of_a_scale_are_included(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_numeric_feedback(1, scale=(1, 5))
        tracer.log_numeric_feedback(5.0, scale=[1, 5])
    scores = [
        e[GEN_AI_EVALUATION_SCORE_VALUE] for e in evaluation_events(ragtel_spans.by_name("answer"))
    ]
    assert scores == [1.0, 5.0]


def test_log_feedback_with_a_number_records_a_score(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_feedback(0.9, name="relevance")
        tracer.log_feedback(3, scale=(0, 10))
    relevance, ten_point = evaluation_events(ragtel_spans.by_name("answer"))
    assert relevance[attrs.RAGTEL_FEEDBACK_KIND] == "numeric"
    assert relevance[attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC] == 0.9
    assert relevance[GEN_AI_EVALUATION_NAME] == "relevance"
    assert ten_point[attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC] == 3.0
    assert (
        ten_point[attrs.RAGTEL_FEEDBACK_SCALE_MIN],
        ten_point[attrs.RAGTEL_FEEDBACK_SCALE_MAX],
    ) == (
        0.0,
        10.0,
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: t.log_numeric_feedback(6, scale=(1, 5)), ValueError, "within scale (1, 5)"),
        (lambda t: t.log_numeric_feedback(0.5, scale=(1, 5)), ValueError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale=(5, 1)), ValueError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale=(3, 3)), ValueError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale=(0, math.inf)), ValueError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale=(math.nan, 5)), ValueError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale=(1, 2, 3)), TypeError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale="1-5"), TypeError, "scale"),
        (lambda t: t.log_numeric_feedback(3, scale=(True, 5)), TypeError, "scale"),
        (lambda t: t.log_numeric_feedback(math.nan), ValueError, "finite"),
        (lambda t: t.log_numeric_feedback(-math.inf, scale=(1, 5)), ValueError, "finite"),
        (lambda t: t.log_feedback(math.inf), ValueError, "finite"),
        (lambda t: t.log_feedback("good", scale=(1, 5)), TypeError, "scale"),
    ],
)
def test_a_bad_scale_or_value_raises_and_records_nothing(
    ragtel_spans: SpanRecorder, call: Callable[[Any], None], error: type, message: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"), pytest.raises(error) as raised:
        call(tracer)
    assert message in str(raised.value)
    assert evaluation_events(ragtel_spans.by_name("answer")) == []


# Images: tatara's permalink_copy ---------------------------------------------------


def test_an_image_url_of_type_permalink_copy_is_recorded(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("draw"):
        handle = tracer.log_image_generation(
            prompt="a dog",
            image_url="https://cdn.example.com/dog.png",
            image_url_type="permalink_copy",
        )
    assert handle is not None
    tracer.log_image_output(
        handle, image_url="https://cdn.example.com/dog-2.png", image_url_type="permalink_copy"
    )
    draw = dict(ragtel_spans.by_name("draw").attributes or {})
    assert draw[attrs.RAGTEL_IMAGE_URL] == "https://cdn.example.com/dog.png"
    assert draw[attrs.RAGTEL_IMAGE_URL_TYPE] == "permalink_copy"
    later = dict(ragtel_spans.by_name("ragtel.image_output").attributes or {})
    assert later[attrs.RAGTEL_IMAGE_URL_TYPE] == "permalink_copy"
    with pytest.raises(ValueError, match="permalink_copy"):  # the message lists it
        tracer.log_image_generation(prompt="p", image_url="u", image_url_type="forever")


# update_span: Adaline's statuses, Opik's usage, provider, cost and attributes --------


@pytest.mark.parametrize("status", ["success", "unknown"])
def test_update_span_takes_adalines_success_and_unknown(
    ragtel_spans: SpanRecorder, status: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("ok"):
        assert tracer.update_span({"status": status}) == []
    assert ragtel_spans.by_name("ok").status.status_code == StatusCode.UNSET


@pytest.mark.parametrize("status", ["error", "failure"])
def test_update_span_takes_adalines_error_and_failure(
    ragtel_spans: SpanRecorder, status: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("bad"):
        assert tracer.update_span({"status": status, "error": "timed out"}) == []
    bad = ragtel_spans.by_name("bad")
    assert bad.status.status_code == StatusCode.ERROR
    assert bad.status.description == "timed out"
    assert dict(bad.attributes or {}) == {"error.type": "_OTHER"}


def test_update_span_records_opiks_usage_provider_cost_and_attributes(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("llm"):
        ignored = tracer.update_span(
            {
                "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
                "provider": "openai",
                "total_cost": 0.0004,
                "attributes": {"app.shard": 2, "app.tags": ["a", "b"], "app.obj": {"k": 1}},
            }
        )
    assert ignored == []
    assert "ignored" not in caplog.text
    recorded = dict(ragtel_spans.by_name("llm").attributes or {})
    assert recorded == {
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.provider.name": "openai",
        "ragtel.llm.cost": 0.0004,
        "app.shard": 2,
        "app.tags": ("a", "b"),
        "app.obj": '{"k": 1}',
    }


def test_update_span_reports_unknown_usage_keys_and_explicit_counts_win(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("llm"):
        ignored = tracer.update_span(
            {"usage": {"input_tokens": 5, "reasoning": 9, "cached_tokens": 2}, "input_tokens": 7}
        )
    assert ignored == ["usage.reasoning"]
    recorded = dict(ragtel_spans.by_name("llm").attributes or {})
    assert recorded["gen_ai.usage.input_tokens"] == 7
    assert recorded["gen_ai.usage.cache_read.input_tokens"] == 2
    assert recorded[attrs.RAGTEL_UPDATE_IGNORED_KEYS] == ("usage.reasoning",)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"usage": 12}, TypeError, "usage"),
        ({"usage": {"prompt_tokens": -1}}, ValueError, "usage: input_tokens must be >= 0"),
        ({"usage": {"prompt_tokens": "12"}}, TypeError, "usage: input_tokens must be an int"),
        ({"usage": {"prompt_tokens": 1, "input_tokens": 2}}, ValueError, "usage gives"),
        ({"provider": 3}, TypeError, "provider"),
        ({"provider": ""}, TypeError, "provider"),
        ({"total_cost": -0.5}, ValueError, "total_cost"),
        ({"total_cost": "0.5"}, TypeError, "total_cost"),
        ({"attributes": [1]}, TypeError, "attributes"),
        ({"attributes": {3: "x"}}, TypeError, "attributes"),
        ({"status": "ok"}, ValueError, "status"),
    ],
)
def test_update_span_refuses_bad_fields_and_leaves_the_span_as_it_was(
    ragtel_spans: SpanRecorder, fields: dict[str, Any], error: type, message: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("llm"), pytest.raises(error, match=re.escape(message)):
        tracer.update_span({"output": "kept out", "model": "m", **fields})
    assert dict(ragtel_spans.by_name("llm").attributes or {}) == {}


# record_span: Tracium's span types -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "llm",
            {
                "ragtel.span.kind": "custom",
                "ragtel.span.type": "llm",
                "gen_ai.operation.name": "chat",
            },
        ),
        (
            "tool",
            {
                "ragtel.span.kind": "tool_call",
                "ragtel.span.type": "tool",
                "gen_ai.operation.name": "execute_tool",
            },
        ),
        ("retrieval", {"ragtel.span.kind": "retrieval"}),
        ("plan", {"ragtel.span.kind": "custom", "ragtel.span.type": "plan"}),
        ("action", {"ragtel.span.kind": "custom", "ragtel.span.type": "action"}),
        (
            "vector-db lookup",
            {"ragtel.span.kind": "custom", "ragtel.span.type": "vector-db lookup"},
        ),
        (RAGEventType.RERANKING, {"ragtel.span.kind": "reranking"}),
    ],
)
def test_record_span_maps_traciums_span_types(
    ragtel_spans: SpanRecorder, kind: str, expected: dict[str, str]
) -> None:
    tracer = ragtel_spans.tracer()
    tracer.record_span("step", kind=kind, status="success", latency=0.01)
    step = ragtel_spans.by_name("step")
    assert dict(step.attributes or {}) == expected
    assert step.status.status_code == StatusCode.UNSET


def test_record_span_with_status_error_fails_the_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    tracer.record_span("act", kind="action", status="error", error="tool down")
    act = ragtel_spans.by_name("act")
    assert act.status.status_code == StatusCode.ERROR
    assert act.status.description == "tool down"
