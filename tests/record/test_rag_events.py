"""RAG events: each helper's event and span attributes, one-per rules, no-span and sampling."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from ragtel import Chunk, Document, RAGEventType, RetrievedChunk, get_lastmile_tracer
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel.semconv.attribute_values import RagtelSpanKindValues
from ragtel.testing import SpanRecorder


def recorded(recorder: SpanRecorder, log, **tracer_args):  # type: ignore[no-untyped-def]
    """Run ``log(tracer)`` inside a span; return that span's attributes and its one event."""
    tracer = recorder.tracer("events", **tracer_args)
    with tracer.start_as_current_span("step"):
        log(tracer)
    span = recorder.by_name("step")
    assert len(span.events) == 1
    event = span.events[0]
    return dict(span.attributes), event.name, dict(event.attributes)


def test_event_kinds_match_the_registry() -> None:
    assert {k.value for k in RAGEventType} == {k.value for k in RagtelSpanKindValues}


def test_chunking_event(ragtel_spans: SpanRecorder) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_chunking_event(
            Document("doc-1", name="refunds.md", content="full text"),
            [Chunk("c1", "Refunds take"), {"id": "c2", "content": "five days."}],
            metadata={"chunk_size": 12},
            name="sentence-split",
        ),
    )
    assert name == "ragtel.chunking"
    assert event == {
        "ragtel.chunk.count": 2,
        "ragtel.chunk.ids": ("c1", "c2"),
        "ragtel.document.id": "doc-1",
        "ragtel.document.name": "refunds.md",
        "ragtel.document.content": "full text",
        "ragtel.chunk.contents": ("Refunds take", "five days."),
        "ragtel.event.name": "sentence-split",
        "ragtel.event.metadata": '{"chunk_size": 12}',
    }
    assert span == {"ragtel.span.kind": "chunking"}


def test_embedding_event_records_shape_not_vectors_by_default(ragtel_spans: SpanRecorder) -> None:
    vectors = [[0.123456, -0.5, 0.25], [1.0, 2.0, 3.0]]
    span, name, event = recorded(
        ragtel_spans, lambda t: t.log_embedding_event(vectors, ["first", "second"])
    )
    assert name == "ragtel.embedding"
    assert event == {
        "ragtel.embedding.count": 2,
        "ragtel.embedding.dimensions": 3,
        "ragtel.chunk.contents": ("first", "second"),
    }
    assert span == {
        "ragtel.span.kind": "embedding",
        "gen_ai.operation.name": "embeddings",
        "gen_ai.embeddings.dimension.count": 3,
    }


def test_embedding_vectors_are_opt_in_rounded_and_capped(ragtel_spans: SpanRecorder) -> None:
    vectors = [[0.123456789] * 3000]
    _, _, event = recorded(
        ragtel_spans, lambda t: t.log_embedding_event(vectors), record_embeddings=True
    )
    kept = json.loads(event["ragtel.embedding.vectors"])
    assert len(kept) == 1 and len(kept[0]) == 1000
    assert kept[0][0] == 0.1235


def test_query_rewrite_event(ragtel_spans: SpanRecorder) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_query_rewrite_event("refund card?", ["refund duration", "card refund"]),
    )
    assert name == "ragtel.query_rewrite"
    assert event == {
        "ragtel.query": "refund card?",
        "ragtel.rewritten_queries": ("refund duration", "card refund"),
    }
    assert span == {"ragtel.span.kind": "query"}


def test_retrieval_event_mirrors_gen_ai(ragtel_spans: SpanRecorder) -> None:
    chunks = [
        RetrievedChunk("c7", "Refunds take five days.", retrieval_score=0.91),
        {"id": "c3", "content": "Cards are refunded.", "retrieval_score": 0.72},
    ]
    span, name, event = recorded(
        ragtel_spans, lambda t: t.log_retrieval_event("refunds?", chunks, {"top_k": 2})
    )
    assert name == "ragtel.retrieval"
    assert event == {
        "ragtel.chunk.count": 2,
        "ragtel.chunk.ids": ("c7", "c3"),
        "ragtel.chunk.scores": (0.91, 0.72),
        "ragtel.chunk.contents": ("Refunds take five days.", "Cards are refunded."),
        "ragtel.query": "refunds?",
        "ragtel.event.metadata": '{"top_k": 2}',
    }
    assert span == {
        "ragtel.span.kind": "retrieval",
        "gen_ai.operation.name": "retrieval",
        "gen_ai.retrieval.query.text": "refunds?",
        "gen_ai.retrieval.documents": '[{"id": "c7", "score": 0.91}, {"id": "c3", "score": 0.72}]',
    }


def test_non_finite_scores_are_kept(ragtel_spans: SpanRecorder) -> None:
    chunks = [
        RetrievedChunk("a", retrieval_score=math.nan),
        RetrievedChunk("b", retrieval_score=math.inf),
    ]
    span, _, event = recorded(ragtel_spans, lambda t: t.log_retrieval_event("q", chunks))
    scores = event["ragtel.chunk.scores"]
    assert math.isnan(scores[0]) and scores[1] == math.inf
    assert json.loads(span["gen_ai.retrieval.documents"]) == [
        {"id": "a", "score": "NaN"},
        {"id": "b", "score": "Infinity"},
    ]


def test_rerank_event(ragtel_spans: SpanRecorder) -> None:
    retrieved = [RetrievedChunk(i, f"text {i}", retrieval_score=0.5) for i in ("c1", "c2", "c3")]
    reranked = [RetrievedChunk("c3", "text c3", retrieval_score=0.97), retrieved[0]]
    span, name, event = recorded(ragtel_spans, lambda t: t.log_rerank_event(retrieved, reranked))
    assert name == "ragtel.rerank"
    assert event == {
        "ragtel.chunk.count": 2,
        "ragtel.chunk.ids": ("c3", "c1"),
        "ragtel.chunk.scores": (0.97, 0.5),
        "ragtel.chunk.contents": ("text c3", "text c1"),
        "ragtel.rerank.input_ids": ("c1", "c2", "c3"),
    }
    assert span == {"ragtel.span.kind": "reranking"}


def test_tool_call_event(ragtel_spans: SpanRecorder) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_tool_call_event("weather", {"city": "Paris", "api_key": "k"}, {"temp": 21}),
    )
    assert name == "ragtel.tool_call"
    assert event == {
        "gen_ai.tool.name": "weather",
        "gen_ai.tool.call.arguments": '{"city": "Paris", "api_key": "[REDACTED]"}',
        "gen_ai.tool.call.result": '{"temp": 21}',
    }
    assert span == {
        "ragtel.span.kind": "tool_call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "weather",
        "gen_ai.tool.call.arguments": '{"city": "Paris", "api_key": "[REDACTED]"}',
        "gen_ai.tool.call.result": '{"temp": 21}',
    }


def test_query_event(ragtel_spans: SpanRecorder) -> None:
    span, name, event = recorded(
        ragtel_spans,
        lambda t: t.log_query_event("refunds?", ["Five ", "days."], system_prompt="Be brief."),
    )
    assert name == "ragtel.query"
    assert event == {
        "ragtel.query": "refunds?",
        "ragtel.response": '["Five ", "days."]',  # the list, as JSON: never run together
        "ragtel.system_prompt": "Be brief.",
    }
    assert span == {"ragtel.span.kind": "query"}


def test_span_event_once_per_span(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.log_span_event(
            input={"q": 1},
            output="answer",
            event_data={"cache": "hit"},
            event_kind=RAGEventType.SYNTHESIZE,
            name="combine",
        )
        with caplog.at_level(logging.WARNING, logger="ragtel"):
            tracer.log_span_event(input="again")  # kept the first, warned, carried on
        assert re.search(r"span 'step' \([0-9a-f]{16}\) already has its span event", caplog.text)
        with tracer.start_as_current_span("other"):
            tracer.log_span_event(output="fine")
    event = ragtel_spans.by_name("step").events[0]
    assert event.name == "ragtel.span"
    assert dict(event.attributes) == {
        "ragtel.span.kind": "synthesize",
        "ragtel.input": '{"q": 1}',
        "ragtel.output": "answer",
        "ragtel.event.data": '{"cache": "hit"}',
        "ragtel.event.name": "combine",
    }
    assert ragtel_spans.by_name("step").attributes["ragtel.span.kind"] == "synthesize"
    assert len(ragtel_spans.by_name("other").events) == 1


def test_trace_event_once_per_trace_on_the_local_root(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        tracer.log_trace_event(input="question", output="answer", metadata={"n": 1})
        with caplog.at_level(logging.WARNING, logger="ragtel"):
            tracer.log_trace_event(input="again")  # kept the first, warned, carried on
        assert re.search(r"trace [0-9a-f]{32} already has its trace event", caplog.text)
    root = ragtel_spans.by_name("root")
    assert [(e.name, dict(e.attributes)) for e in root.events] == [
        (
            "ragtel.trace",
            {
                "ragtel.input": "question",
                "ragtel.output": "answer",
                "ragtel.event.metadata": '{"n": 1}',
            },
        )
    ]
    assert ragtel_spans.by_name("child").events == ()


def test_with_no_span_an_event_gets_a_short_span_of_its_own(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    tracer.log_retrieval_event("q", [RetrievedChunk("c1", retrieval_score=0.5)])
    own = ragtel_spans.by_name("ragtel.event")
    assert own.parent is None and own.end_time is not None
    assert own.attributes["ragtel.span.kind"] == "retrieval"
    assert [e.name for e in own.events] == ["ragtel.retrieval"]


def test_sampled_out_spans_skip_everything_even_checks() -> None:
    tracer = get_lastmile_tracer("off", tracer_provider=TracerProvider(sampler=ALWAYS_OFF))
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event("q", ["not a chunk"])  # not even validated
        tracer.log_span_event(input=object())
        tracer.log_trace_event(input="x")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda t: t.log_retrieval_event("q", [Chunk("c1")]),
            TypeError,
            "retrieval_score must be a number",
        ),
        (
            lambda t: t.log_retrieval_event("q", [{"id": "c", "retrieval_score": "0.9"}]),
            TypeError,
            "got '0.9'",
        ),
        (
            lambda t: t.log_retrieval_event("q", ["text"]),
            TypeError,
            "retrieved_data must hold Chunk objects or dicts",
        ),
        (lambda t: t.log_retrieval_event(5, []), TypeError, "query must be a str"),
        (
            lambda t: t.log_chunking_event(None, [{"content": "no id"}]),
            ValueError,
            "every chunk needs an id",
        ),
        (
            lambda t: t.log_chunking_event("doc", []),
            TypeError,
            "input_document must be a Document or a dict",
        ),
        (
            lambda t: t.log_rerank_event(
                [RetrievedChunk("a", retrieval_score=1)], [RetrievedChunk("z", retrieval_score=1)]
            ),
            ValueError,
            "reranked holds chunks that are not in retrieved: \\['z'\\]",
        ),
        (
            lambda t: t.log_embedding_event("vectors"),
            TypeError,
            "embeddings must be a list of vectors",
        ),
        (lambda t: t.log_span_event(event_kind="nope"), ValueError, "event_kind must be one of"),
        (
            lambda t: t.log_query_event("q", 42),
            TypeError,
            "response must be a str or a list of str",
        ),
    ],
)
def test_bad_input_raises_naming_the_argument(
    ragtel_spans: SpanRecorder, call, error, message
) -> None:  # type: ignore[no-untyped-def]
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"), pytest.raises(error, match=message):
        call(tracer)


def test_huge_payloads_are_capped_and_marked(ragtel_spans: SpanRecorder) -> None:
    chunks = [RetrievedChunk(f"c{i}", "x" * 50_000, retrieval_score=0.1) for i in range(3)]
    _, _, event = recorded(ragtel_spans, lambda t: t.log_retrieval_event("q", chunks))
    for content in event["ragtel.chunk.contents"]:
        assert len(content) == 16_384 and content.endswith("chars]")


def test_embedding_vectors_must_hold_numbers(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("vectors", record_embeddings=True)
    with tracer.start_as_current_span("step"), pytest.raises(TypeError, match="embeddings"):
        tracer.log_embedding_event([["a", "b"]])


def test_any_dataclass_with_chunk_fields_is_read(ragtel_spans: SpanRecorder) -> None:
    @dataclasses.dataclass
    class MyChunk:
        id: str
        content: str
        embedding: object = None
        extras: object = None
        # Every chunk field declared: the fast reader, and its fallback when
        # an instance lacks one.
        retrieval_score: float = dataclasses.field(init=False)

    tracer = ragtel_spans.tracer()
    scored = MyChunk("c1", "one")
    scored.retrieval_score = 0.5
    unscored = MyChunk("c2", "two")  # declares retrieval_score but has none
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event("q", [scored])
        with pytest.raises(TypeError, match="retrieval_score must be a number; got None"):
            tracer.log_retrieval_event("q", [unscored])
    attributes = ragtel_spans.by_name("step").events[0].attributes
    assert attributes["ragtel.chunk.ids"] == ("c1",) and attributes["ragtel.chunk.scores"] == (0.5,)


def test_chunk_extras_are_kept_in_chunk_order(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    chunks = [
        RetrievedChunk("c1", "a", retrieval_score=0.9, extras={"page": 3, "password": "p"}),
        RetrievedChunk("c2", "b", retrieval_score=0.8),
    ]
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event("q", chunks)
        tracer.log_chunking_event(
            Document("d", extras={"source": "faq.md", "token": "t"}),
            [{"id": "x", "content": "t", "extras": [1, 2]}],
        )
        tracer.log_retrieval_event("q", [RetrievedChunk("c3", "c", retrieval_score=0.1)])
    retrieval, chunking, plain = (e.attributes for e in ragtel_spans.by_name("step").events)
    extras = retrieval["ragtel.chunk.extras"]
    assert [json.loads(text) for text in extras] == [{"page": 3, "password": "[REDACTED]"}, None]
    assert chunking["ragtel.chunk.extras"] == ("[1, 2]",)
    assert json.loads(chunking["ragtel.document.extras"]) == {
        "source": "faq.md",
        "token": "[REDACTED]",
    }
    assert "ragtel.chunk.extras" not in plain  # no chunk had extras


def test_chunk_extras_follow_capture_content(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("no-content", capture_content=False)
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event(
            "q", [RetrievedChunk("c1", extras={"page": 3}, retrieval_score=1)]
        )
        tracer.log_chunking_event(Document("d", extras={"page": 3}), [Chunk("c1", extras={})])
    retrieval, chunking = ragtel_spans.by_name("step").events
    assert "ragtel.chunk.extras" not in retrieval.attributes
    assert not {"ragtel.chunk.extras", "ragtel.document.extras"} & set(chunking.attributes)


def test_scores_of_any_real_type_and_a_score_field(ragtel_spans: SpanRecorder) -> None:
    from fractions import Fraction

    @dataclasses.dataclass
    class Hit:
        id: str
        content: str
        score: float

    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event(
            "q", [Hit("h1", "t", 0.25), {"id": "h2", "score": Fraction(1, 2)}]
        )
        with pytest.raises(ValueError, match="retrieval_score does not fit a double"):
            tracer.log_retrieval_event("q", [{"id": "big", "score": 10**400}])
    (event,) = ragtel_spans.by_name("step").events
    assert event.attributes["ragtel.chunk.scores"] == (0.25, 0.5)


class BrokenRepr:
    """An object whose repr() and str() raise."""

    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


def test_text_from_arguments_is_recorded_exportable_and_capped(ragtel_spans: SpanRecorder) -> None:
    # Lone surrogates used to reach the exporter as they were: the OTLP encoder
    # refused them and the whole batch (every span in it) was dropped.
    odd, huge = "a\udfffb", "x" * 100_000
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event("q", [{"id": odd, "score": 1.0}, {"id": huge, "score": 0.5}])
        tracer.log_chunking_event(Document(odd, name=huge), [Chunk(10**5000), Chunk(BrokenRepr())])
        tracer.log_tool_call_event(odd, {}, {}, name=odd)
    encode_spans_line(ragtel_spans.spans)  # raises if any text cannot be exported
    retrieval, chunking, tool = ragtel_spans.by_name("step").events
    assert retrieval.attributes["ragtel.chunk.ids"][0] == "a\\udfffb"
    assert len(retrieval.attributes["ragtel.chunk.ids"][1]) == 16_384
    assert chunking.attributes["ragtel.chunk.ids"] == (
        "<unrepresentable int>",
        "<unrepresentable BrokenRepr>",
    )
    assert tool.attributes["gen_ai.tool.name"] == "a\\udfffb"


@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [
        (lambda t: t.log_span_event(event_kind=BrokenRepr()), ValueError, "event_kind"),
        (lambda t: t.log_span_event(event_kind=10**5000), ValueError, "event_kind"),
        (lambda t: t.log_query_rewrite_event("q", [BrokenRepr()]), TypeError, "rewritten_query"),
        (
            lambda t: t.log_retrieval_event("q", [{"id": BrokenRepr()}]),
            TypeError,
            "retrieval_score",
        ),
        (lambda t: t.log_retrieval_event("q", [], span=5), TypeError, "span"),
        (lambda t: t.log_span_event(span="root"), TypeError, "span"),
    ],
)
def test_bad_arguments_with_hostile_values_raise_the_documented_error(
    ragtel_spans: SpanRecorder, call, error, argument
) -> None:  # type: ignore[no-untyped-def]
    # Error messages quote the bad value: a broken __repr__ (or an int past
    # str()'s digit limit) used to replace the error; a non-span span= raised
    # AttributeError.
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("step"), pytest.raises(error, match=argument):
        call(tracer)


def test_embedded_texts_are_capped_like_any_collection(ragtel_spans: SpanRecorder) -> None:
    _, _, event = recorded(
        ragtel_spans, lambda t: t.log_embedding_event([[0.1]], list(range(5_000)))
    )
    contents = event["ragtel.chunk.contents"]
    assert len(contents) == 1_001 and contents[-1] == "…[4000 more items]"


def test_embedding_vectors_must_fit_a_double(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("vectors", record_embeddings=True)
    with tracer.start_as_current_span("step"), pytest.raises(ValueError, match="embeddings"):
        tracer.log_embedding_event([[10**400]])
