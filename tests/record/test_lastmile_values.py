"""LastMile code runs unchanged: repeated one-per events, free-form param keys, values as given."""

from __future__ import annotations

import json
import logging
import urllib.parse
from pathlib import Path

import pytest
from opentelemetry import context as context_api
from opentelemetry import propagate, trace

from ragtel import Chunk, Document, RetrievedChunk, get_lastmile_tracer
from ragtel.testing import SpanRecorder

# Keys LastMile and OTel attribute keys allow, with every character baggage must escape.
FREE_KEYS = ["chunk size", "a/b", "温度", "k=v", "a,b", "a;b", "50%", "tab\there"]


# A second one-per event: the first stays, a warning names the trace or span --------


def test_a_second_trace_event_keeps_the_first_and_warns_naming_the_trace(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with caplog.at_level(logging.WARNING, logger="ragtel"), tracer.start_as_current_span("root"):
        trace_id = f"{trace.get_current_span().get_span_context().trace_id:032x}"
        tracer.log_trace_event(input="question", output="answer")
        tracer.log_trace_event(input="again", output="other")  # returns: no exception
        tracer.register_param("after", 1)  # the code after it still runs
    root = ragtel_spans.by_name("root")
    assert [(event.name, dict(event.attributes)) for event in root.events] == [
        ("ragtel.trace", {"ragtel.input": "question", "ragtel.output": "answer"})
    ]
    assert root.attributes["ragtel.param.after"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and trace_id in warnings[0]
    assert "already has its trace event" in warnings[0]


def test_second_trace_events_in_a_loop_warn_once_then_log_at_debug_level(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with caplog.at_level(logging.DEBUG, logger="ragtel"):
        for _ in range(20):
            with tracer.start_as_current_span("request"):
                tracer.log_trace_event(input="q", output="a")
                tracer.log_trace_event(input="q", output="again")
    dropped = [r for r in caplog.records if "already has its trace event" in r.getMessage()]
    assert [r.levelno for r in dropped] == [logging.WARNING] + [logging.DEBUG] * 19
    assert all(len(span.events) == 1 for span in ragtel_spans.spans if span.name == "request")


def test_a_second_span_event_keeps_the_first_and_warns_naming_the_span(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with caplog.at_level(logging.WARNING, logger="ragtel"), tracer.start_as_current_span("step"):
        span_id = f"{trace.get_current_span().get_span_context().span_id:016x}"
        tracer.log_span_event(input="first", output="one", event_kind="retrieval")
        tracer.log_span_event(input="second", output="two", event_kind="reranking")
    step = ragtel_spans.by_name("step")
    assert [(event.name, dict(event.attributes)) for event in step.events] == [
        (
            "ragtel.span",
            {"ragtel.span.kind": "retrieval", "ragtel.input": "first", "ragtel.output": "one"},
        )
    ]
    assert step.attributes["ragtel.span.kind"] == "retrieval"  # the second left no trace
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'step'" in warnings[0] and span_id in warnings[0]


# Param keys: any non-empty text --------------------------------------------------


def test_any_non_empty_text_is_a_param_key(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        for index, key in enumerate(FREE_KEYS):
            tracer.register_param(key, index)
        tracer.register_params({"chunk overlap": 16, "模型": "m"})
        assert tracer.get_params()["温度"] == 2
    attributes = ragtel_spans.by_name("root").attributes
    assert {key: attributes[f"ragtel.param.{key}"] for key in FREE_KEYS} == {
        key: index for index, key in enumerate(FREE_KEYS)
    }
    assert attributes["ragtel.param.chunk overlap"] == 16
    assert attributes["ragtel.param.模型"] == "m"


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        (5, TypeError, "key must be a str"),
        (None, TypeError, "key must be a str"),
        ("", ValueError, "key must be a non-empty str"),
        ("\ud800", ValueError, "no lone surrogates"),  # OTLP could not carry the batch
        ("api_key=sk-123", ValueError, "must not hold a secret"),  # keys are never redacted
    ],
)
def test_what_is_still_not_a_param_key(
    ragtel_spans: SpanRecorder, key: object, error: type, message: str
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"), pytest.raises(error, match=message) as raised:
        tracer.register_param(key, 1)  # type: ignore[arg-type]
    assert "sk-123" not in str(raised.value)
    assert not any(k.startswith("ragtel.param.") for k in ragtel_spans.by_name("root").attributes)


def test_free_form_keys_round_trip_through_baggage_percent_encoded(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer("hop", propagate_params=True)
    params = {key: index for index, key in enumerate(FREE_KEYS)}
    with tracer.start_as_current_span("upstream"):
        tracer.register_params(params)
        header = tracer.get_distributed_trace_headers()
    names = [entry.split("=", 1)[0] for entry in header["baggage"].split(",")]
    for name in names:  # W3C baggage keys are tokens: every other character is escaped
        assert all(c.isascii() and (c.isalnum() or c in "._-~%") for c in name), name
    assert sorted(urllib.parse.unquote(name) for name in names) == sorted(
        f"ragtel.param.{key}" for key in FREE_KEYS
    )
    token = context_api.attach(propagate.extract(header))
    try:
        with tracer.start_as_current_span("downstream"):
            assert tracer.get_params() == params
    finally:
        context_api.detach(token)
    downstream = ragtel_spans.by_name("downstream").attributes
    assert {key: downstream[f"ragtel.param.{key}"] for key in FREE_KEYS} == params


def test_report_groups_by_a_key_with_a_space(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragtel.cli import main

    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("report", output_filepath=path, rag_flow_type="query")
    for size in (128, 128, 256):
        with tracer.start_as_current_span("answer"):
            tracer.register_params({"chunk size": size, "温度": 0.5})
    tracer.shutdown()
    assert main(["report", str(path), "--by", "chunk size", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["by"] == ["chunk size"]
    assert report["fixed"] == {"温度": 0.5}
    assert [(g["params"]["chunk size"], g["traces"]) for g in report["groups"]] == [
        (128, 2),
        (256, 1),
    ]


# Values recorded as given ---------------------------------------------------------


def test_a_list_response_is_recorded_as_the_list(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(openinference=True)
    with tracer.start_as_current_span("step"):
        tracer.log_query_event("q", ["a", "b"])
    step = ragtel_spans.by_name("step")
    event = dict(step.events[0].attributes)
    assert json.loads(event["ragtel.response"]) == ["a", "b"]  # not "ab"
    assert event["ragtel.response"] == '["a", "b"]'
    assert step.attributes["output.value"] == '["a", "b"]'
    assert step.attributes["output.mime_type"] == "application/json"


def test_a_text_response_stays_text(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.log_query_event("q", '["looks", "like", "json"]')
    event = dict(ragtel_spans.by_name("step").events[0].attributes)
    assert event["ragtel.response"] == '["looks", "like", "json"]'


def test_document_content_is_recorded_when_given(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("with"):
        tracer.log_chunking_event(Document("d1", content="Refunds take five days."), [Chunk("c1")])
    with tracer.start_as_current_span("without"):
        tracer.log_chunking_event(Document("d2"), [Chunk("c1")])
    with tracer.start_as_current_span("dict"):
        tracer.log_chunking_event({"id": "d3", "content": {"pages": 2}}, [])
    assert ragtel_spans.by_name("with").events[0].attributes["ragtel.document.content"] == (
        "Refunds take five days."
    )
    assert "ragtel.document.content" not in ragtel_spans.by_name("without").events[0].attributes
    assert ragtel_spans.by_name("dict").events[0].attributes["ragtel.document.content"] == (
        '{"pages": 2}'
    )


def test_document_content_follows_capture_content(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(capture_content=False)
    with tracer.start_as_current_span("step"):
        tracer.log_chunking_event(Document("d1", content="secret text"), [Chunk("c1", "x")])
    event = dict(ragtel_spans.by_name("step").events[0].attributes)
    assert "ragtel.document.content" not in event and "ragtel.chunk.contents" not in event


def test_a_chunk_without_content_has_none_not_empty_text(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer(openinference=True)
    with tracer.start_as_current_span("none"):
        tracer.log_chunking_event(None, [Chunk("c1"), Chunk("c2")])
    with tracer.start_as_current_span("mixed"):
        tracer.log_retrieval_event(
            "q",
            [
                RetrievedChunk("c1", "Five days.", retrieval_score=0.9),
                RetrievedChunk("c2", retrieval_score=0.5),
                RetrievedChunk("c3", "", retrieval_score=0.1),  # empty text is still text
            ],
        )
    assert "ragtel.chunk.contents" not in ragtel_spans.by_name("none").events[0].attributes
    mixed = ragtel_spans.by_name("mixed")
    assert mixed.events[0].attributes["ragtel.chunk.contents"] == ("Five days.", None, "")
    contents = {
        key: value for key, value in mixed.attributes.items() if key.endswith(".document.content")
    }
    assert contents == {
        "retrieval.documents.0.document.content": "Five days.",
        "retrieval.documents.2.document.content": "",
    }


def test_a_chunk_without_content_is_a_null_in_the_exported_file(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("values", output_filepath=path)
    with tracer.start_as_current_span("step"):
        tracer.log_chunking_event(Document("d1", content="all"), [Chunk("c1", "a"), Chunk("c2")])
    tracer.shutdown()
    (span,) = [
        span
        for line in path.read_text("utf-8").splitlines()
        for resource in json.loads(line)["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    attributes = {item["key"]: item["value"] for item in span["events"][0]["attributes"]}
    assert attributes["ragtel.chunk.contents"]["arrayValue"]["values"] == [
        {"stringValue": "a"},
        {},  # OTLP's empty AnyValue: null
    ]
    assert attributes["ragtel.document.content"] == {"stringValue": "all"}


class Tokenizer:
    """An object with no JSON form (no fields, no known type)."""


def test_a_param_value_with_no_json_form_is_its_marked_repr(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    tokenizer = Tokenizer()
    with tracer.start_as_current_span("root"):
        tracer.register_params(
            {"sentinel": object(), "tokenizer": tokenizer, "nested": {"t": tokenizer}, "n": 1}
        )
        assert tracer.get_params()["tokenizer"] is tokenizer  # the raw value, as registered
    attributes = ragtel_spans.by_name("root").attributes
    assert attributes["ragtel.param.sentinel"] == "repr:<object object>"
    assert attributes["ragtel.param.tokenizer"] == ("repr:<test_lastmile_values.Tokenizer object>")
    # Inside a value with a JSON form, a part without one is its repr, as everywhere.
    assert attributes["ragtel.param.nested"] == '{"t": "<test_lastmile_values.Tokenizer object>"}'
    assert attributes["ragtel.param.n"] == 1


def test_a_marked_repr_is_redacted_and_capped(ragtel_spans: SpanRecorder) -> None:
    class Client:
        def __repr__(self) -> str:
            return "Client(api_key=sk-live-123, " + "x" * 100_000 + ")"

    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        tracer.register_param("client", Client())
    value = ragtel_spans.by_name("root").attributes["ragtel.param.client"]
    assert isinstance(value, str) and value.startswith("repr:Client(")
    assert "sk-live-123" not in value
    assert len(value) <= 16_384
