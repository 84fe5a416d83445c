"""The span conveniences: record_input/output, set_token_usage, add_tags, mark_failed,
update_span, and the one-shot record_span."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.trace import SpanContext, StatusCode

from otlp_receiver import OTLPReceiver
from ragtel import RAGEventType, get_lastmile_tracer
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel.testing import SpanRecorder


def test_input_and_output_go_to_the_span_given_rather_than_the_current_one(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("outer") as outer, tracer.start_as_current_span("inner"):
        tracer.record_input("for the outer step", span=outer)
        tracer.record_output({"answer": [1, 2]})
    assert dict(ragtel_spans.by_name("outer").attributes) == {"ragtel.input": "for the outer step"}
    assert dict(ragtel_spans.by_name("inner").attributes) == {"ragtel.output": '{"answer": [1, 2]}'}


def test_input_and_output_go_through_the_mask(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("masked", mask=lambda value: "[masked]")
    with tracer.start_as_current_span("step"):
        tracer.record_input("a customer's address")
        tracer.record_output({"card": "4111 1111 1111 1111"})
    attributes = dict(ragtel_spans.by_name("step").attributes)
    assert attributes == {"ragtel.input": "[masked]", "ragtel.output": "[masked]"}


def test_input_and_output_are_left_out_when_content_is_not_captured(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer("no-content", capture_content=False)
    with tracer.start_as_current_span("step"):
        tracer.record_input({"q": "refunds"})
        tracer.record_output("five days")
    assert dict(ragtel_spans.by_name("step").attributes) == {}


def test_token_usage_sets_only_the_counts_given(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.set_token_usage(input_tokens=5)
        tracer.set_token_usage(cached_input_tokens=2)
    assert dict(ragtel_spans.by_name("step").attributes) == {
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 2,
    }


@pytest.mark.parametrize(
    ("counts", "error", "message"),
    [
        ({"input_tokens": -1}, ValueError, "input_tokens must be >= 0"),
        ({"input_tokens": True}, TypeError, "input_tokens must be an int"),
        ({"output_tokens": 1.5}, TypeError, "output_tokens must be an int"),
        ({"cached_input_tokens": "3"}, TypeError, "cached_input_tokens must be an int"),
    ],
)
def test_token_counts_that_are_not_counts_are_refused_naming_them(
    ragtel_spans: SpanRecorder, counts: dict[str, object], error: type[Exception], message: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"), pytest.raises(error, match=message):
        tracer.set_token_usage(**counts)  # type: ignore[arg-type]
    assert dict(ragtel_spans.by_name("step").attributes) == {}


def test_added_tags_join_the_tags_of_the_label_scope(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.using_tags(["scope"]), tracer.start_as_current_span("step"):
        tracer.add_tags(["added", "scope"])
    assert ragtel_spans.by_name("step").attributes["ragtel.tags"] == ("scope", "added")


def test_mark_failed_without_an_error_type_records_other(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.mark_failed("no documents")
    step = ragtel_spans.by_name("step")
    assert (step.status.status_code, step.status.description) == (StatusCode.ERROR, "no documents")
    assert dict(step.attributes) == {"error.type": "_OTHER"}


def test_update_span_status_failed_with_an_error_marks_the_span_failed(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        assert (
            tracer.update_span({"status": "failed", "error": "bad thing", "output": [1, 2]}) == []
        )
    step = ragtel_spans.by_name("step")
    assert (step.status.status_code, step.status.description) == (StatusCode.ERROR, "bad thing")
    assert dict(step.attributes) == {"ragtel.output": "[1, 2]", "error.type": "_OTHER"}


def test_conveniences_leave_an_ended_span_alone(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    ended = tracer.start_span("ended")
    ended.end()
    tracer.record_input("late", span=ended)
    tracer.add_tags(["late"], span=ended)
    tracer.set_token_usage(input_tokens=1, span=ended)
    tracer.mark_failed("late", span=ended)
    span = ragtel_spans.by_name("ended")
    assert dict(span.attributes) == {}
    assert span.status.status_code is StatusCode.UNSET


def test_record_span_is_an_ended_child_of_the_current_span_with_the_latency_given(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root") as root:
        context = tracer.record_span(
            "lookup",
            kind=RAGEventType.RETRIEVAL,
            input="q",
            output="a",
            latency=2.0,
            attributes={"app.shard": 1},
        )
    lookup = ragtel_spans.by_name("lookup")
    assert isinstance(context, SpanContext)
    assert context == lookup.context
    assert lookup.parent is not None
    assert lookup.parent.span_id == root.get_span_context().span_id
    assert lookup.end_time is not None and lookup.start_time is not None
    assert (lookup.end_time - lookup.start_time) / 1e9 == pytest.approx(2.0, abs=1e-6)
    assert dict(lookup.attributes) == {
        "app.shard": 1,
        "ragtel.span.kind": "retrieval",
        "ragtel.input": "q",
        "ragtel.output": "a",
    }


def test_record_span_continues_the_trace_of_a_context_given(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    trace_id, parent_id = "ab" * 16, "cd" * 8
    context = tracer.record_span("remote", context=f"00-{trace_id}-{parent_id}-01")
    remote = ragtel_spans.by_name("remote")
    assert f"{context.trace_id:032x}" == trace_id
    assert remote.parent is not None and f"{remote.parent.span_id:016x}" == parent_id
    assert remote.attributes["ragtel.span.kind"] == "custom"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"status": "done"}, ValueError, "status must be one of"),
        # Any non-empty string is a span type (Tracium's habit); an empty one is not.
        ({"kind": ""}, ValueError, "kind must be a RAGEventType value"),
        ({"kind": 3}, ValueError, "kind must be a RAGEventType value"),
        ({"error": 3}, TypeError, "error must be a str"),
    ],
)
def test_record_span_refuses_bad_arguments_naming_them_and_records_nothing(
    ragtel_spans: SpanRecorder, arguments: dict[str, object], error: type[Exception], message: str
) -> None:
    tracer = ragtel_spans.tracer()
    with pytest.raises(error, match=message):
        tracer.record_span("step", **arguments)  # type: ignore[arg-type]
    assert ragtel_spans.spans == []


def test_one_shot_record_span_over_otlp(receiver: OTLPReceiver) -> None:
    tracer = get_lastmile_tracer(
        "oneshot", exporter="otlp", otlp_endpoint=receiver.http_endpoint, set_global=False
    )
    with tracer.start_as_current_span("agent"):
        context = tracer.record_span(
            "lookup",
            kind="tool_call",
            input={"key": "user_123"},
            output={"name": "Ada"},
            latency=0.045,
        )
        tracer.record_span("flaky", status="failed", error="timed out", latency=1.5)
    tracer.force_flush(10_000)
    spans = {span["name"]: span for span in receiver.wait_for_spans(3)}
    lookup, flaky, agent = spans["lookup"], spans["flaky"], spans["agent"]
    assert lookup["parent_span_id"] == agent["span_id"]
    assert lookup["span_id"] == format(context.span_id, "016x")
    duration = (lookup["end_time_unix_nano"] - lookup["start_time_unix_nano"]) / 1e9
    assert duration == pytest.approx(0.045, abs=1e-6)
    assert lookup["attributes"]["ragtel.span.kind"] == "tool_call"
    assert json.loads(lookup["attributes"]["ragtel.input"]) == {"key": "user_123"}
    assert flaky["status"] == {"code": "STATUS_CODE_ERROR", "message": "timed out"}
    assert flaky["attributes"]["error.type"] == "_OTHER"


def test_span_conveniences(ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ragtel")
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step") as span:
        tracer.record_input({"q": "refunds"})
        tracer.record_output("five days")
        tracer.set_token_usage(input_tokens=10, output_tokens=3)
        tracer.add_tags(["beta"])
        tracer.add_tags(["beta", "mobile"], span=span)
        ignored = tracer.update_span({"model": "m", "colour": "red", "cached_input_tokens": 4})
        tracer.mark_failed("retrieval returned nothing", error_type="EmptyResult")
    attributes = dict(ragtel_spans.by_name("step").attributes)
    assert ignored == ["colour"]
    assert attributes == {
        "ragtel.input": '{"q": "refunds"}',
        "ragtel.output": "five days",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 3,
        "ragtel.tags": ("beta", "mobile"),
        "gen_ai.request.model": "m",
        "gen_ai.usage.cache_read.input_tokens": 4,
        "ragtel.update.ignored_keys": ("colour",),
        "error.type": "EmptyResult",
    }
    assert ragtel_spans.by_name("step").status.status_code is StatusCode.ERROR
    assert "update_span ignored unknown keys ['colour']" in caplog.text


def test_conveniences_do_nothing_on_spans_that_do_not_record(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    tracer.record_input("no span active")
    tracer.add_tags(["x"])
    assert tracer.update_span({"unknown": 1}) == ["unknown"]
    assert ragtel_spans.spans == []


def test_record_span_rejects_a_latency_that_is_not_finite(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    for latency in (float("inf"), float("nan"), -1.0, 1e300):
        with pytest.raises(ValueError, match="latency must be a number of seconds from 0"):
            tracer.record_span("lookup", latency=latency)
    assert ragtel_spans.spans == []


def test_update_span_with_a_bad_field_changes_nothing(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        for fields in (
            {"input": "q", "status": "done"},
            {"output": "a", "input_tokens": -1},
            {"model": "m", "tags": "not-a-list"},
            {"model": "m", "tags": 5},
            {"input": "q", "metadata": 5},
        ):
            with pytest.raises((TypeError, ValueError)):
                tracer.update_span(fields)
    assert dict(ragtel_spans.by_name("step").attributes) == {}


def test_tags_may_be_any_iterable(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.add_tags(tag for tag in ("a", "b"))
        tracer.update_span({"tags": iter(["c"]), "error": None, "status": "completed"})
    step = ragtel_spans.by_name("step")
    assert step.attributes["ragtel.tags"] == ("a", "b", "c")
    assert step.status.status_code is StatusCode.UNSET  # error=None is no error


def test_span_conveniences_record_exportable_text(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.mark_failed("bad \udcff byte", error_type="Io\udcffError")
        tracer.add_tags(["t\ud800"])
        tracer.update_span({"model": 10**5000, 10**5000: "an unknown key"})
        with pytest.raises(TypeError, match="error_type"):
            tracer.mark_failed("m", error_type=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="error must be a str"):
        tracer.record_span("late", error=42)  # type: ignore[arg-type]
    encode_spans_line(ragtel_spans.spans)
    step = ragtel_spans.by_name("step")
    assert step.status.description == "bad \\udcff byte"
    assert step.attributes["ragtel.tags"] == ("t\\ud800",)
    assert step.attributes["ragtel.update.ignored_keys"] == ("<unrepresentable int>",)
    assert "late" not in ragtel_spans.names()  # refused before the span started
