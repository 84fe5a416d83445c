"""LastMile's remaining APIs: prompt-side events, generic event adders, set_rag_flow_type."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, span_argument
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported
from ragtel import LastMileTracer, RagFlowType
from ragtel.testing import SpanRecorder


def recorded(
    recorder: SpanRecorder, log: Callable[[LastMileTracer], None], **tracer_args: Any
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Run ``log(tracer)`` inside a span; return that span's attributes and its one event."""
    tracer = recorder.tracer("lastmile-apis", **tracer_args)
    with tracer.start_as_current_span("step"):
        log(tracer)
    span = recorder.by_name("step")
    assert len(span.events) == 1
    event = span.events[0]
    return dict(span.attributes or {}), event.name, dict(event.attributes or {})


# The prompt-side events ------------------------------------------------------------------


def test_prompt_composition_event(ragtel_spans: SpanRecorder) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_prompt_composition_event(
            "Answer: what is RAG?\nContext: RAG retrieves first.",
            components={"query": "what is RAG?", "context": ["RAG retrieves first."]},
            metadata={"k": 1},
            name="compose",
        ),
    )
    assert name == "ragtel.prompt_composition"
    assert event == {
        "ragtel.prompt.resolved": "Answer: what is RAG?\nContext: RAG retrieves first.",
        "ragtel.prompt.components": (
            '{"query": "what is RAG?", "context": ["RAG retrieves first."]}'
        ),
        "ragtel.event.name": "compose",
        "ragtel.event.metadata": '{"k": 1}',
    }
    assert span == {"ragtel.span.kind": "prompt_composition"}


def test_template_event(ragtel_spans: SpanRecorder) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_template_event("Answer {q}", "Answer why?", "Be brief."),
    )
    assert name == "ragtel.template"
    assert event == {
        "ragtel.prompt.template": "Answer {q}",
        "ragtel.prompt.resolved": "Answer why?",
        "ragtel.system_prompt": "Be brief.",
    }
    assert span == {"ragtel.span.kind": "templating"}


def test_synthesize_event_records_text_as_is_and_other_values_as_json(
    ragtel_spans: SpanRecorder,
) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_synthesize_event({"chunks": ["a", "b"]}, "the answer", name="synth"),
    )
    assert name == "ragtel.synthesize"
    assert event == {
        "ragtel.input": '{"chunks": ["a", "b"]}',
        "ragtel.output": "the answer",
        "ragtel.event.name": "synth",
    }
    assert span == {"ragtel.span.kind": "synthesize"}


def test_prompt_events_record_no_content_when_capture_is_off(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("no-content", capture_content=False)
    with tracer.start_as_current_span("step"):
        tracer.log_template_event("secret {x}", "secret 1")
    event = ragtel_spans.by_name("step").events[0]
    assert event.name == "ragtel.template"
    assert dict(event.attributes or {}) == {}


def test_openinference_mode_mirrors_input_and_output(ragtel_spans: SpanRecorder) -> None:
    span, _, _ = recorded(
        ragtel_spans,
        lambda t: t.log_template_event("T {q}", "T why"),
        openinference=True,
    )
    assert span["input.value"] == "T {q}"
    assert span["output.value"] == "T why"


@pytest.mark.parametrize(
    ("log", "argument"),
    [
        (lambda t: t.log_template_event(1, "x"), "prompt_template"),
        (lambda t: t.log_template_event("x", None), "resolved_prompt"),
        (lambda t: t.log_template_event("x", "y", 3), "system_prompt"),
        (lambda t: t.log_prompt_composition_event(["not", "text"]), "resolved_prompt"),
    ],
)
def test_prompt_events_name_a_wrong_argument(
    ragtel_spans: SpanRecorder, log: Callable[[LastMileTracer], None], argument: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"), pytest.raises(TypeError, match=argument):
        log(tracer)


# add_rag_event_for_span / add_rag_event_for_trace ---------------------------------------------


def test_add_rag_event_for_span_is_the_span_event_under_its_name(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("outer"):
        inner = tracer.start_span("inner")  # running, not current: the given span gets it
        tracer.add_rag_event_for_span("rerank", inner, input="q", output=["c2", "c1"])
        inner.end()
    span = ragtel_spans.by_name("inner")
    assert [event.name for event in span.events] == ["ragtel.span"]
    assert dict(span.events[0].attributes or {}) == {
        "ragtel.span.kind": "custom",
        "ragtel.event.name": "rerank",
        "ragtel.input": "q",
        "ragtel.output": '["c2", "c1"]',
    }
    assert ragtel_spans.by_name("outer").events == ()


def test_a_second_span_event_is_dropped_with_a_warning(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.add_rag_event_for_span("first", input="a")
        tracer.add_rag_event_for_span("second", input="b", should_also_save_in_span=False)
    events = ragtel_spans.by_name("step").events
    assert len(events) == 1
    assert (events[0].attributes or {})["ragtel.event.name"] == "first"
    assert "already has its span event" in caplog.text


def test_add_rag_event_for_trace_is_the_trace_event_on_the_root(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        tracer.add_rag_event_for_trace("flow", input="q", output="a", event_data={"n": 1})
        tracer.add_rag_event_for_trace("again", input="x")
    root = ragtel_spans.by_name("root")
    assert [event.name for event in root.events] == ["ragtel.trace"]
    assert dict(root.events[0].attributes or {}) == {
        "ragtel.event.name": "flow",
        "ragtel.input": "q",
        "ragtel.output": "a",
        "ragtel.event.metadata": '{"n": 1}',
    }
    assert ragtel_spans.by_name("child").events == ()
    assert "already has its trace event" in caplog.text


def test_generic_adders_name_a_wrong_event_name(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        with pytest.raises(TypeError, match="event_name"):
            tracer.add_rag_event_for_span(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="event_name"):
            tracer.add_rag_event_for_trace(3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="span"):
            tracer.add_rag_event_for_span("e", "not a span")  # type: ignore[arg-type]


# set_rag_flow_type ---------------------------------------------------------------------------


def root_and_child(recorder: SpanRecorder, log: Callable[[LastMileTracer], None]) -> ReadableSpan:
    tracer = recorder.tracer("flows", rag_flow_type=RagFlowType.INGESTION)
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        log(tracer)
    return recorder.by_name("root")


def test_set_rag_flow_type_links_a_query_trace_to_its_ingestion_trace(
    ragtel_spans: SpanRecorder,
) -> None:
    ingestion_id = 0x4BF92F3577B34DA6A3CE929D0E0E4736
    root = root_and_child(
        ragtel_spans,
        lambda t: t.set_rag_flow_type(RagFlowType.QUERY, ingestion_trace_id=str(ingestion_id)),
    )
    attributes = dict(root.attributes or {})
    assert attributes["ragtel.rag_flow.type"] == "query"  # replaces the tracer's
    assert attributes["ragtel.rag_flow.ingestion_trace_id"] == f"{ingestion_id:032x}"
    assert "ragtel.rag_flow.type" not in dict(ragtel_spans.by_name("child").attributes or {})


def test_set_rag_flow_type_takes_the_string_and_the_ingestion_id_in_any_form(
    ragtel_spans: SpanRecorder,
) -> None:
    root = root_and_child(ragtel_spans, lambda t: t.set_rag_flow_type("query", "0x" + "ab" * 16))
    assert dict(root.attributes or {})["ragtel.rag_flow.ingestion_trace_id"] == "ab" * 16


def test_set_rag_flow_type_refuses_what_is_not_a_flow_type_or_an_id(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        with pytest.raises(ValueError, match="flow_type"):
            tracer.set_rag_flow_type("retrieval")
        with pytest.raises(ValueError, match="ingestion_trace_id"):
            tracer.set_rag_flow_type("query", ingestion_trace_id="nope")
    assert "ragtel.rag_flow.type" not in dict(ragtel_spans.by_name("root").attributes or {})


def test_set_rag_flow_type_without_a_span_warns_and_records_nothing(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ragtel")
    ragtel_spans.tracer().set_rag_flow_type(RagFlowType.QUERY)
    assert ragtel_spans.spans == []
    assert "set_rag_flow_type needs a recording span" in caplog.text


# Fuzzing -------------------------------------------------------------------------------------


@fuzz_settings(0.5)
@given(data=st.data())
def test_prompt_events(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        common = {
            "metadata": arguments.aside(st.one_of(st.none(), fs.anything), "metadata"),
            "name": arguments.draw("name", fs.optional_text),
            "span": span_argument(arguments, tracer),
        }
        which = arguments.aside(st.sampled_from(["composition", "template", "synthesize"]), "k")
        if which == "composition":
            resolved = arguments.draw("resolved_prompt", fs.text)
            components = arguments.aside(st.one_of(st.none(), fs.anything), "components")
            call(
                "log_prompt_composition_event",
                arguments,
                lambda: tracer.log_prompt_composition_event(resolved, components, **common),
            )
        elif which == "template":
            template = arguments.draw("prompt_template", fs.text)
            resolved = arguments.draw("resolved_prompt", fs.text)
            system_prompt = arguments.draw("system_prompt", fs.optional_text)
            call(
                "log_template_event",
                arguments,
                lambda: tracer.log_template_event(template, resolved, system_prompt, **common),
            )
        else:
            given_input = arguments.aside(fs.anything, "input")
            given_output = arguments.aside(fs.anything, "output")
            call(
                "log_synthesize_event",
                arguments,
                lambda: tracer.log_synthesize_event(given_input, given_output, **common),
            )


@fuzz_settings(0.5)
@given(data=st.data())
def test_generic_events_and_flow_type(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        event_name = arguments.draw("event_name", fs.text)
        given_input = arguments.aside(st.one_of(st.none(), fs.anything), "input")
        given_output = arguments.aside(st.one_of(st.none(), fs.anything), "output")
        event_data = arguments.aside(st.one_of(st.none(), fs.anything), "event_data")
        if arguments.aside(st.booleans(), "for span"):
            span = span_argument(arguments, tracer)
            call(
                "add_rag_event",
                arguments,
                lambda: tracer.add_rag_event_for_span(
                    event_name, span, given_input, given_output, event_data
                ),
            )
        else:
            call(
                "add_rag_event",
                arguments,
                lambda: tracer.add_rag_event_for_trace(
                    event_name, given_input, given_output, event_data
                ),
            )
        flow_type = arguments.draw("flow_type", st.sampled_from([*RagFlowType, "query"]))
        ingestion = arguments.draw("ingestion_trace_id", st.one_of(st.none(), fs.trace_ids))
        call(
            "set_rag_flow_type",
            arguments,
            lambda: tracer.set_rag_flow_type(flow_type, ingestion),
        )
