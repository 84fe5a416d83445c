"""Feedback: inline events, late carrier spans in the judged trace, project-level spans."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

import ragtel
from ragtel import get_lastmile_tracer
from ragtel._config import CaptureConfig
from ragtel._context.handover import to_context
from ragtel._context.ids import anchor_span_id, parse_span_id, parse_trace_id
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._sdk.tracer_profile import TracerProfile
from ragtel.semconv import attributes as attrs
from ragtel.semconv.events import GEN_AI_EVALUATION_RESULT_EVENT
from ragtel.semconv.references import (
    GEN_AI_EVALUATION_EXPLANATION,
    GEN_AI_EVALUATION_NAME,
    GEN_AI_EVALUATION_SCORE_LABEL,
    GEN_AI_EVALUATION_SCORE_VALUE,
)
from ragtel.semconv.spans import RAGTEL_FEEDBACK_SPAN
from ragtel.testing import SpanRecorder


def feedback_spans(recorder: SpanRecorder) -> list[ReadableSpan]:
    return [span for span in recorder.spans if span.name == RAGTEL_FEEDBACK_SPAN]


def evaluation_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [
        dict(e.attributes or {}) for e in span.events if e.name == GEN_AI_EVALUATION_RESULT_EVENT
    ]


# Inline: a span is active -------------------------------------------------------


def test_inline_feedback_is_an_evaluation_event_on_the_current_span(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_binary_feedback(True, name="thumbs", explanation="cited the right policy")
        tracer.log_numeric_feedback(0.25)
        tracer.log_categorical_feedback("too long", ["ok", "too long"], annotator="llm")
        tracer.log_text_feedback("Great answer", annotator="code")
        tracer.log_feedback({"rating": 4, "tags": ["fast"]}, metadata={"ui": "widget"})

    answer = ragtel_spans.by_name("answer")
    binary, numeric, categorical, text, structured = evaluation_events(answer)
    assert binary == {
        attrs.RAGTEL_FEEDBACK_KIND: "binary",
        attrs.RAGTEL_FEEDBACK_VALUE_BINARY: True,
        GEN_AI_EVALUATION_SCORE_VALUE: 1.0,
        GEN_AI_EVALUATION_SCORE_LABEL: "positive",
        GEN_AI_EVALUATION_NAME: "thumbs",
        GEN_AI_EVALUATION_EXPLANATION: "cited the right policy",
        attrs.RAGTEL_FEEDBACK_ANNOTATOR: "human",
        attrs.RAGTEL_FEEDBACK_SCOPE: "span",
    }
    assert numeric[GEN_AI_EVALUATION_SCORE_VALUE] == 0.25
    assert numeric[attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC] == 0.25
    assert numeric[GEN_AI_EVALUATION_NAME] == "feedback"
    assert categorical[GEN_AI_EVALUATION_SCORE_LABEL] == "too long"
    assert categorical[attrs.RAGTEL_FEEDBACK_CATEGORIES] == ("ok", "too long")
    assert categorical[attrs.RAGTEL_FEEDBACK_ANNOTATOR] == "llm"
    assert text[attrs.RAGTEL_FEEDBACK_KIND] == "text"
    assert text[attrs.RAGTEL_FEEDBACK_VALUE_TEXT] == "Great answer"
    assert structured[attrs.RAGTEL_FEEDBACK_KIND] == "json"
    assert structured[attrs.RAGTEL_FEEDBACK_VALUE_TEXT] == '{"rating": 4, "tags": ["fast"]}'
    assert structured[attrs.RAGTEL_FEEDBACK_METADATA] == '{"ui": "widget"}'
    assert feedback_spans(ragtel_spans) == []  # nothing else was created


def test_false_is_negative_feedback_with_score_zero(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_binary_feedback(False)
    (event,) = evaluation_events(ragtel_spans.by_name("answer"))
    assert event[attrs.RAGTEL_FEEDBACK_VALUE_BINARY] is False
    assert event[GEN_AI_EVALUATION_SCORE_VALUE] == 0.0
    assert event[GEN_AI_EVALUATION_SCORE_LABEL] == "negative"


def test_numpy_bool_counts_as_a_bool(ragtel_spans: SpanRecorder) -> None:
    numpy = pytest.importorskip("numpy")
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_binary_feedback(numpy.bool_(True))
    (event,) = evaluation_events(ragtel_spans.by_name("answer"))
    assert event[attrs.RAGTEL_FEEDBACK_VALUE_BINARY] is True


# Late: the judged span has ended ------------------------------------------------


def test_late_feedback_by_context_is_a_linked_child_in_the_same_trace(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer(project_name="support-bot", initial_params={"top_k": 5})
    with tracer.start_as_current_span("answer") as answer:
        handle = tracer.serialize_span_context()
    tracer.log_numeric_feedback(0.8, context=handle, name="helpfulness")

    target = answer.get_span_context()
    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == target.trace_id
    assert carrier.parent is not None and carrier.parent.span_id == target.span_id
    assert [link.context.span_id for link in carrier.links] == [target.span_id]
    attributes = dict(carrier.attributes or {})
    assert attributes[attrs.RAGTEL_FEEDBACK_SCOPE] == "span"
    assert attributes[attrs.RAGTEL_FEEDBACK_TARGET_SPAN_ID] == f"{target.span_id:016x}"
    assert attributes[attrs.RAGTEL_PROJECT_NAME] == "support-bot"
    assert attributes[GEN_AI_EVALUATION_NAME] == "helpfulness"
    assert attributes[GEN_AI_EVALUATION_SCORE_VALUE] == 0.8
    # A carrier is not a request: the tracer's default params stay on the answer.
    assert not any(key.startswith(attrs.RAGTEL_PARAM_PREFIX) for key in attributes)
    assert (ragtel_spans.by_name("answer").attributes or {})[
        attrs.RAGTEL_PARAM_PREFIX + "top_k"
    ] == 5


@pytest.mark.parametrize("form", ["hex", "HEX", "int"])
def test_ids_of_an_ended_span_in_any_form(ragtel_spans: SpanRecorder, form: str) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"), tracer.start_as_current_span("retrieve") as step:
        pass
    target = step.get_span_context()
    trace_id: str | int
    span_id: str | int
    if form == "int":
        trace_id, span_id = target.trace_id, target.span_id
    else:
        trace_id, span_id = f"{target.trace_id:032x}", f"{target.span_id:016x}"
        if form == "HEX":
            trace_id, span_id = trace_id.upper(), span_id.upper()
    tracer.log_text_feedback("wrong document", trace_id, span_id)

    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == target.trace_id
    assert [link.context.span_id for link in carrier.links] == [target.span_id]
    assert (carrier.attributes or {})[attrs.RAGTEL_FEEDBACK_SCOPE] == "span"


def test_ids_of_a_span_still_running_get_an_event_on_it(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as answer, tracer.start_as_current_span("retrieve"):
        context = answer.get_span_context()
        tracer.log_binary_feedback(False, context.trace_id, context.span_id)
    assert feedback_spans(ragtel_spans) == []
    (event,) = evaluation_events(ragtel_spans.by_name("answer"))
    assert event[attrs.RAGTEL_FEEDBACK_VALUE_BINARY] is False
    assert evaluation_events(ragtel_spans.by_name("retrieve")) == []


def test_trace_id_alone_finds_the_root_of_a_recent_trace(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as root, tracer.start_as_current_span("generate"):
        pass
    trace_id = f"{root.get_span_context().trace_id:032x}"
    tracer.log_categorical_feedback("correct", ["correct", "wrong"], trace_id=trace_id)

    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.parent is not None and carrier.parent.span_id == root.get_span_context().span_id
    assert [link.context.span_id for link in carrier.links] == [root.get_span_context().span_id]
    assert (carrier.attributes or {})[attrs.RAGTEL_FEEDBACK_SCOPE] == "trace"


def test_trace_id_alone_of_a_running_trace_gets_an_event_on_its_root(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer") as root:
        trace_id = root.get_span_context().trace_id
        with trace.use_span(trace.INVALID_SPAN):  # as if in another thread with no span
            tracer.log_binary_feedback(True, trace_id)
    (event,) = evaluation_events(ragtel_spans.by_name("answer"))
    assert event[attrs.RAGTEL_FEEDBACK_SCOPE] == "trace"


def test_trace_id_of_a_trace_this_process_never_saw(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    trace_id = 0x4BF92F3577B34DA6A3CE929D0E0E4736
    tracer.log_binary_feedback(True, trace_id=f"{trace_id:032x}")

    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == trace_id
    assert carrier.parent is not None and carrier.parent.span_id == anchor_span_id(trace_id)
    assert carrier.links == ()  # no real span to link to
    attributes = dict(carrier.attributes or {})
    assert attrs.RAGTEL_FEEDBACK_TARGET_SPAN_ID not in attributes


def test_request_id_names_the_same_trace_for_answer_and_feedback(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span(
        "answer", context=ragtel.context_from_request_id("req-42")
    ) as answer:
        pass
    trace_id = ragtel.trace_id_from_request_id("req-42")
    assert f"{answer.get_span_context().trace_id:032x}" == trace_id
    assert ragtel.trace_id_from_request_id("req-43") != trace_id
    tracer.log_binary_feedback(True, trace_id=trace_id)
    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.context.trace_id == answer.get_span_context().trace_id
    assert [link.context.span_id for link in carrier.links] == [answer.get_span_context().span_id]


def test_feedback_from_a_remote_parent_context_is_a_carrier(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    remote = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = context_api.attach(to_context(remote))
    try:
        tracer.log_binary_feedback(True)  # the current span is the remote caller's
    finally:
        context_api.detach(token)
    (carrier,) = feedback_spans(ragtel_spans)
    assert f"{carrier.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert [f"{link.context.span_id:016x}" for link in carrier.links] == ["b7ad6b7169203331"]


# Project-level: nothing to attach to ----------------------------------------------


def test_feedback_with_no_span_and_no_ids_is_about_the_project(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer(project_name="support-bot")
    tracer.log_text_feedback("The bot should cite sources")

    (carrier,) = feedback_spans(ragtel_spans)
    assert carrier.parent is None
    assert carrier.links == ()
    attributes = dict(carrier.attributes or {})
    assert attributes[attrs.RAGTEL_FEEDBACK_SCOPE] == "project"
    assert attributes[attrs.RAGTEL_PROJECT_NAME] == "support-bot"
    assert attributes[attrs.RAGTEL_FEEDBACK_VALUE_TEXT] == "The bot should cite sources"
    assert attrs.RAGTEL_FEEDBACK_TARGET_SPAN_ID not in attributes


# Sampling ------------------------------------------------------------------------


def sampled_out_tracer() -> tuple[ragtel.LastMileTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return get_lastmile_tracer("sampled-out", tracer_provider=provider), exporter


def test_feedback_on_a_sampled_out_trace_stays_out() -> None:
    tracer, exporter = sampled_out_tracer()
    with tracer.start_as_current_span("answer"):
        handle = ragtel.get_traceparent()
        tracer.log_binary_feedback(True)  # inline: the span records nothing
    assert handle is not None and not int(handle[-2:], 16) & 1  # not sampled
    tracer.log_binary_feedback(True, context=handle)  # late: the carrier is sampled out too
    assert exporter.get_finished_spans() == ()


def test_late_feedback_follows_a_sampled_context_even_under_a_sampler_that_drops_roots() -> None:
    tracer, exporter = sampled_out_tracer()
    tracer.log_binary_feedback(
        True, context="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    )
    (carrier,) = exporter.get_finished_spans()
    assert carrier.name == RAGTEL_FEEDBACK_SPAN


# Content -----------------------------------------------------------------------


def test_unserializable_json_feedback_is_kept_with_the_fallback(ragtel_spans: SpanRecorder) -> None:
    class Widget:
        def __repr__(self) -> str:
            return "Widget(7)"

    recursive: dict[str, Any] = {"self": None}
    recursive["self"] = recursive
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_feedback({"widget": Widget(), "score": math.nan, "loop": recursive})
        tracer.log_feedback(Widget())
    first, second = evaluation_events(ragtel_spans.by_name("answer"))
    recorded = first[attrs.RAGTEL_FEEDBACK_VALUE_TEXT]
    assert "Widget(7)" in recorded and "NaN" in recorded
    assert second[attrs.RAGTEL_FEEDBACK_VALUE_TEXT] == '"Widget(7)"'


def test_secrets_in_json_feedback_and_metadata_are_redacted(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        tracer.log_feedback({"api_key": "sk-live-123", "ok": True}, metadata={"token": "t-456"})
    (event,) = evaluation_events(ragtel_spans.by_name("answer"))
    text = str(event)
    assert "sk-live-123" not in text and "t-456" not in text
    assert "[REDACTED]" in event[attrs.RAGTEL_FEEDBACK_VALUE_TEXT]


def test_with_content_capture_off_free_text_is_left_out(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(capture_content=False)
    with tracer.start_as_current_span("answer"):
        tracer.log_text_feedback("my email is someone@example.com", explanation="private")
        tracer.log_categorical_feedback("wrong", ["right", "wrong"])
    text, categorical = evaluation_events(ragtel_spans.by_name("answer"))
    assert text[attrs.RAGTEL_FEEDBACK_KIND] == "text"
    assert attrs.RAGTEL_FEEDBACK_VALUE_TEXT not in text
    assert GEN_AI_EVALUATION_EXPLANATION not in text
    assert categorical[GEN_AI_EVALUATION_SCORE_LABEL] == "wrong"  # a label, not content


# Validation ----------------------------------------------------------------------

INVALID_CALLS: list[tuple[str, Callable[[Any], None], type[Exception], str]] = [
    ("binary 1", lambda t: t.log_binary_feedback(1), TypeError, "value must be a bool"),
    ("binary 0", lambda t: t.log_binary_feedback(0), TypeError, "got int 0"),
    ("binary str", lambda t: t.log_binary_feedback("yes"), TypeError, "value must be a bool"),
    # Any finite scale is accepted; a value outside a scale the caller names is refused.
    ("numeric high", lambda t: t.log_numeric_feedback(1.5, scale=(0, 1)), ValueError, "scale"),
    ("numeric low", lambda t: t.log_numeric_feedback(-0.1, scale=(0, 1)), ValueError, "got -0.1"),
    ("numeric nan", lambda t: t.log_numeric_feedback(math.nan), ValueError, "got nan"),
    ("numeric inf", lambda t: t.log_numeric_feedback(math.inf), ValueError, "got inf"),
    ("numeric bool", lambda t: t.log_numeric_feedback(True), TypeError, "log_binary_feedback"),
    ("numeric str", lambda t: t.log_numeric_feedback("0.5"), TypeError, "must be a number"),
    (
        "category missing",
        lambda t: t.log_categorical_feedback("maybe", ["yes", "no"]),
        ValueError,
        "value must be one of the categories ['yes', 'no']; got 'maybe'",
    ),
    (
        "categories empty",
        lambda t: t.log_categorical_feedback("yes", []),
        ValueError,
        "categories must list at least one category",
    ),
    (
        "categories repeated",
        lambda t: t.log_categorical_feedback("yes", ["yes", "no", "yes"]),
        ValueError,
        "'yes' appears more than once",
    ),
    (
        "categories a string",
        lambda t: t.log_categorical_feedback("y", "yes"),
        TypeError,
        "categories must be a list of strings",
    ),
    (
        "category not str",
        lambda t: t.log_categorical_feedback("1", ["1", 2]),
        TypeError,
        "categories must hold strings only",
    ),
    ("text empty", lambda t: t.log_text_feedback(""), ValueError, "non-empty text"),
    ("text blank", lambda t: t.log_text_feedback("  \n"), ValueError, "non-empty text"),
    ("text not str", lambda t: t.log_text_feedback(5), TypeError, "value must be a str"),
    ("feedback None", lambda t: t.log_feedback(None), TypeError, "feedback must be a str"),
    ("feedback empty", lambda t: t.log_feedback(""), ValueError, "feedback must be non-empty"),
    (
        "annotator",
        lambda t: t.log_binary_feedback(True, annotator="robot"),
        ValueError,
        "annotator must be one of human, llm, code; got 'robot'",
    ),
    ("name", lambda t: t.log_binary_feedback(True, name=""), TypeError, "name must be"),
    (
        "metadata",
        lambda t: t.log_binary_feedback(True, metadata=["x"]),
        TypeError,
        "metadata must be a mapping",
    ),
    (
        "trace id short",
        lambda t: t.log_binary_feedback(True, "abc"),
        ValueError,
        "trace_id must be 32 hex digits or a positive int below 2**128; got 'abc'",
    ),
    (
        "trace id zero",
        lambda t: t.log_binary_feedback(True, "0" * 32),
        ValueError,
        "got '00000000000000000000000000000000'",
    ),
    (
        "trace id not hex",
        lambda t: t.log_binary_feedback(True, "g" * 32),
        ValueError,
        "trace_id must be 32 hex digits",
    ),
    (
        "trace id float",
        lambda t: t.log_binary_feedback(True, 1.5),
        ValueError,
        "trace_id must be 32 hex digits or a positive int below 2**128; got float '1.5'",
    ),
    (
        "trace id too big",
        lambda t: t.log_binary_feedback(True, 1 << 128),
        ValueError,
        f"got {1 << 128}",
    ),
    (
        "span id",
        lambda t: t.log_binary_feedback(True, "1" * 32, "xyz"),
        ValueError,
        "span_id must be 16 hex digits or a positive int below 2**64; got 'xyz'",
    ),
    (
        "span id without trace id",
        lambda t: t.log_binary_feedback(True, span_id="1" * 16),
        ValueError,
        "span_id needs the trace_id",
    ),
    (
        "context and ids",
        lambda t: t.log_binary_feedback(
            True, "1" * 32, context="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
        ),
        ValueError,
        "not both",
    ),
    (
        "bad context",
        lambda t: t.log_binary_feedback(True, context="not-a-traceparent"),
        ValueError,
        "'not-a-traceparent'",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(call, error, message, id=case) for case, call, error, message in INVALID_CALLS],
)
def test_invalid_feedback_raises_with_a_message_that_says_what_was_expected(
    ragtel_spans: SpanRecorder,
    call: Callable[[Any], None],
    error: type[Exception],
    message: str,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"), pytest.raises(error) as raised:
        call(tracer)
    assert message in str(raised.value)
    # Nothing half-recorded.
    assert evaluation_events(ragtel_spans.by_name("answer")) == []
    assert feedback_spans(ragtel_spans) == []


def test_boundaries_of_numeric_feedback_are_accepted(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("answer"):
        for value in (0, 1, 0.0, 1.0):
            tracer.log_numeric_feedback(value)
    scores = [
        e[GEN_AI_EVALUATION_SCORE_VALUE] for e in evaluation_events(ragtel_spans.by_name("answer"))
    ]
    assert scores == [0.0, 1.0, 0.0, 1.0]


# Ids and the registry ----------------------------------------------------------


def test_id_parsing() -> None:
    assert parse_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736") == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert parse_span_id(1) == 1
    assert parse_span_id("00f067aa0ba902b7") == 0x00F067AA0BA902B7
    for bad in (True, 0, -1, 1 << 64, "00f067aa0ba902b", " 00f067aa0ba902b7"):
        with pytest.raises(ValueError, match="span_id must be 16 hex digits"):
            parse_span_id(bad)


def test_request_ids_give_stable_distinct_trace_ids() -> None:
    first = ragtel.trace_id_from_request_id("order-1")
    assert first == ragtel.trace_id_from_request_id("order-1")
    assert len(first) == 32 and int(first, 16)
    assert len({ragtel.trace_id_from_request_id(f"order-{i}") for i in range(1000)}) == 1000
    context = ragtel.context_from_request_id("order-1")
    assert context.split("-")[1] == first and context.endswith("-01")
    with pytest.raises(ValueError, match="request_id must not be empty"):
        ragtel.trace_id_from_request_id(" ")
    with pytest.raises(TypeError, match="request_id must be a str"):
        ragtel.trace_id_from_request_id(None)  # type: ignore[arg-type]


def test_the_recent_traces_registry_is_bounded() -> None:
    processor = RagtelSpanProcessor(max_traces=3)
    processor.register_tracer(
        TracerProfile("bounded", root_attributes={}, defaults={}, capture=CaptureConfig())
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bounded")
    trace_ids = []
    for _ in range(5):
        with tracer.start_as_current_span("root") as root:
            trace_ids.append(root.get_span_context().trace_id)
    assert [processor.recent_root(t) is not None for t in trace_ids] == [
        False,
        False,
        True,
        True,
        True,
    ]
    provider.shutdown()


@pytest.mark.parametrize(
    "text",
    [
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",'
        '"tracestate":"vendor=abc,other=1"}',
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"}',
    ],
)
def test_context_strings_parse_as_the_w3c_propagator_reads_them(text: str) -> None:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from ragtel._context.handover import span_context_from

    carrier = json.loads(text) if text.startswith("{") else {"traceparent": text}
    expected = trace.get_current_span(
        TraceContextTextMapPropagator().extract(carrier)
    ).get_span_context()
    if not expected.is_valid:
        with pytest.raises(ValueError, match="context"):
            span_context_from(text)
        return
    parsed = span_context_from(text)
    assert (parsed.trace_id, parsed.span_id, parsed.trace_flags, parsed.is_remote) == (
        expected.trace_id,
        expected.span_id,
        expected.trace_flags,
        True,
    )
    assert parsed.trace_state.to_header() == expected.trace_state.to_header()


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


class BrokenText(str):
    """Passes isinstance(str) checks, but its own str() and repr() raise."""

    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [
        # Messages quote the bad value: a broken __repr__ used to replace the error.
        (lambda t: t.log_binary_feedback(BrokenRepr()), TypeError, "value"),
        (
            lambda t: t.log_categorical_feedback("a", [BrokenText("a"), BrokenText("a")]),
            ValueError,
            "categories must be distinct",
        ),
        (lambda t: t.log_feedback("x", span_id=BrokenRepr()), ValueError, "span_id"),
        (lambda t: t.log_feedback("x", annotator=BrokenRepr()), ValueError, "annotator"),
        # float() of it overflowed.
        (lambda t: t.log_numeric_feedback(10**400), ValueError, "value"),
        (lambda t: t.log_text_feedback("ok", context={"traceparent": 5}), ValueError, "context"),
    ],
)
def test_hostile_feedback_values_raise_the_documented_error(
    ragtel_spans: SpanRecorder, call: Callable[[Any], None], error: type, argument: str
) -> None:
    with pytest.raises(error, match=argument):
        call(ragtel_spans.tracer())


def test_request_ids_of_any_size_or_str_subclass() -> None:
    assert ragtel.trace_id_from_request_id(BrokenText("req-1")) == ragtel.trace_id_from_request_id(
        "req-1"
    )
    with pytest.raises(ValueError, match="request_id"):
        ragtel.trace_id_from_request_id(10**5000)  # past str()'s digit limit
