"""OpenInference compatibility mode: the extra keys, attribute by attribute."""

from __future__ import annotations

import json

from ragtel import RetrievedChunk
from ragtel.testing import SpanRecorder


def span_of(recorder: SpanRecorder, log) -> dict[str, object]:  # type: ignore[no-untyped-def]
    tracer = recorder.tracer("oi", openinference=True)
    with tracer.start_as_current_span("step"):
        log(tracer)
    return dict(recorder.by_name("step").attributes)


def test_off_by_default(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("plain")
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event("q", [RetrievedChunk("c1", "t", retrieval_score=0.5)])
    assert not any(
        key.startswith(("openinference.", "retrieval.", "input."))
        for key in ragtel_spans.by_name("step").attributes
    )


def test_retrieval_documents(ragtel_spans: SpanRecorder) -> None:
    chunks = [
        RetrievedChunk("c7", "Refunds take five days.", retrieval_score=0.91),
        RetrievedChunk("c3", "Cards are refunded.", retrieval_score=0.72),
    ]
    span = span_of(ragtel_spans, lambda t: t.log_retrieval_event("refunds?", chunks))
    assert {k: v for k, v in span.items() if not k.startswith(("ragtel.", "gen_ai."))} == {
        "openinference.span.kind": "RETRIEVER",
        "input.value": "refunds?",
        "input.mime_type": "text/plain",
        "retrieval.documents.0.document.id": "c7",
        "retrieval.documents.0.document.content": "Refunds take five days.",
        "retrieval.documents.0.document.score": 0.91,
        "retrieval.documents.1.document.id": "c3",
        "retrieval.documents.1.document.content": "Cards are refunded.",
        "retrieval.documents.1.document.score": 0.72,
    }


def test_reranker_documents_in_both_orders(ragtel_spans: SpanRecorder) -> None:
    before = [RetrievedChunk(i, f"text {i}", retrieval_score=0.5) for i in ("a", "b", "c")]
    after = [
        RetrievedChunk("c", "text c", retrieval_score=0.9),
        RetrievedChunk("a", "text a", retrieval_score=0.4),
    ]
    span = span_of(
        ragtel_spans,
        lambda t: t.log_rerank_event(before, after, {"model": "bge-reranker", "query": "q"}),
    )
    assert span["openinference.span.kind"] == "RERANKER"
    assert span["reranker.model_name"] == "bge-reranker" and span["reranker.query"] == "q"
    assert span["reranker.top_k"] == 2
    assert [span[f"reranker.input_documents.{i}.document.id"] for i in range(3)] == ["a", "b", "c"]
    assert [span[f"reranker.output_documents.{i}.document.id"] for i in range(2)] == ["c", "a"]
    assert span["reranker.output_documents.0.document.score"] == 0.9


def test_llm_call(ragtel_spans: SpanRecorder) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Refunds?"}]
    span = span_of(
        ragtel_spans,
        lambda t: t.log_llm_call(
            model="gpt-4o-mini",
            provider="openai",
            messages=messages,
            output="Five days.",
            params={"temperature": 0.2},
            input_tokens=30,
            output_tokens=4,
        ),
    )
    assert {
        k: v for k, v in span.items() if k.startswith(("llm.", "openinference.", "output."))
    } == {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai",
        "llm.invocation_parameters": '{"temperature": 0.2}',
        "llm.token_count.prompt": 30,
        "llm.token_count.completion": 4,
        "llm.token_count.total": 34,
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "Refunds?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Five days.",
        "output.value": "Five days.",
        "output.mime_type": "text/plain",
    }
    assert json.loads(span["input.value"]) == messages


def test_tool_and_embedding(ragtel_spans: SpanRecorder) -> None:
    tool = span_of(
        ragtel_spans, lambda t: t.log_tool_call_event("weather", {"city": "Paris"}, {"t": 21})
    )
    assert tool["openinference.span.kind"] == "TOOL"
    assert tool["tool.name"] == "weather" and tool["tool.parameters"] == '{"city": "Paris"}'
    assert tool["input.mime_type"] == "application/json" and tool["output.value"] == '{"t": 21}'
    ragtel_spans.clear()
    embedding = span_of(
        ragtel_spans,
        lambda t: t.log_embedding_event([[0.1, 0.2]], ["hello"], {"model": "small"}),
    )
    assert embedding["openinference.span.kind"] == "EMBEDDING"
    assert embedding["embedding.model_name"] == "small"
    assert embedding["embedding.embeddings.0.embedding.text"] == "hello"
    assert "embedding.embeddings.0.embedding.vector" not in embedding  # vectors stay opt-in


def test_llm_call_mirror_is_masked_redacted_and_capped(ragtel_spans: SpanRecorder) -> None:
    def mask(value: object) -> object:
        # The hook sees each recorded value whole: a string, or the message list.
        return json.loads(json.dumps(value).replace("card 4111", "card ****"))

    tracer = ragtel_spans.tracer("oi-masked", openinference=True, mask=mask)
    messages = [{"role": "user", "content": f"refund card 4111 #{i}"} for i in range(3)]
    with tracer.start_as_current_span("step"):
        tracer.log_llm_call(
            model="m",
            messages=messages,
            output="ok",
            params={"temperature": 0.2, "api_key": "sk-live-1"},
        )
    span = dict(ragtel_spans.by_name("step").attributes)
    assert json.loads(span["llm.invocation_parameters"]) == {
        "temperature": 0.2,
        "api_key": "[REDACTED]",
    }
    contents = [span[f"llm.input_messages.{i}.message.content"] for i in range(3)]
    assert contents == [f"refund card **** #{i}" for i in range(3)]
    assert "4111" not in json.dumps(span)
    assert span["input.mime_type"] == "application/json"


def test_mime_types_follow_what_was_recorded(ragtel_spans: SpanRecorder) -> None:
    rewrite = span_of(ragtel_spans, lambda t: t.log_query_rewrite_event("q", ["a", "b"]))
    assert rewrite["input.mime_type"] == "text/plain"
    assert rewrite["output.mime_type"] == "application/json"
    assert json.loads(rewrite["output.value"]) == ["a", "b"]
    ragtel_spans.clear()
    event = span_of(
        ragtel_spans, lambda t: t.log_span_event(input={"q": 1}, output="done", event_kind="custom")
    )
    assert event["input.mime_type"] == "application/json"
    assert event["output.mime_type"] == "text/plain"
    ragtel_spans.clear()
    tool = span_of(ragtel_spans, lambda t: t.log_tool_call_event("calc", {"x": 1}, 2))
    assert (tool["input.mime_type"], tool["output.mime_type"]) == ("application/json",) * 2


def test_document_metadata_is_the_chunk_extras_masked_and_redacted(
    ragtel_spans: SpanRecorder,
) -> None:
    chunks = [
        RetrievedChunk("c1", "a", retrieval_score=0.9, extras={"page": 3, "api_key": "sk-1"}),
        RetrievedChunk("c2", "b", retrieval_score=0.8),
    ]
    span = span_of(ragtel_spans, lambda t: t.log_retrieval_event("q", chunks))
    assert json.loads(span["retrieval.documents.0.document.metadata"]) == {
        "page": 3,
        "api_key": "[REDACTED]",
    }
    assert "retrieval.documents.1.document.metadata" not in span
    ragtel_spans.clear()
    before = [{"id": "d", "content": "x", "extras": {"source": "faq.md"}}]
    after = [{"id": "d", "content": "x", "extras": {"source": "faq.md"}, "score": 0.7}]
    span = span_of(ragtel_spans, lambda t: t.log_rerank_event(before, after))
    for side in ("input", "output"):
        metadata = span[f"reranker.{side}_documents.0.document.metadata"]
        assert json.loads(metadata) == {"source": "faq.md"}


def test_document_metadata_follows_capture_content(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("oi-no-content", openinference=True, capture_content=False)
    chunk = RetrievedChunk("c1", "a", retrieval_score=0.9, extras={"page": 3})
    with tracer.start_as_current_span("step"):
        tracer.log_retrieval_event("q", [chunk])
    span = dict(ragtel_spans.by_name("step").attributes)
    assert span["retrieval.documents.0.document.id"] == "c1"
    assert not any(k.endswith(("document.metadata", "document.content")) for k in span)


def test_unscored_rerank_inputs_carry_no_score(ragtel_spans: SpanRecorder) -> None:
    before = [{"id": "a", "content": "x"}, {"id": "b", "content": "y", "score": "high"}]
    after = [RetrievedChunk("b", "y", retrieval_score=0.8)]
    span = span_of(ragtel_spans, lambda t: t.log_rerank_event(before, after))
    assert span["reranker.input_documents.1.document.id"] == "b"
    assert not any(k.startswith("reranker.input_documents.") and k.endswith("score") for k in span)
    assert span["reranker.output_documents.0.document.score"] == 0.8


def test_mask_sees_the_messages_once_for_every_recorded_form(ragtel_spans: SpanRecorder) -> None:
    def drop_system(value: object) -> object:
        if isinstance(value, list):
            return [m for m in value if m.get("role") != "system"]
        return value

    tracer = ragtel_spans.tracer("oi-drop-system", openinference=True, mask=drop_system)
    messages = [{"role": "system", "content": "TOP SECRET"}, {"role": "user", "content": "hi"}]
    with tracer.start_as_current_span("step"):
        tracer.log_llm_call(model="m", messages=messages, output="ok")
    span = dict(ragtel_spans.by_name("step").attributes)
    assert "TOP SECRET" not in json.dumps(span)
    assert span["llm.input_messages.0.message.content"] == "hi"


def test_reranker_names_are_masked_capped_and_follow_capture(ragtel_spans: SpanRecorder) -> None:
    before = [{"id": "a", "content": "x", "score": 1}]
    after = [{"id": "a", "content": "x", "score": 0.5}]
    query = "see https://user:pw@host/q " + "x" * 20_000
    span = span_of(ragtel_spans, lambda t: t.log_rerank_event(before, after, {"query": query}))
    assert "pw@" not in span["reranker.query"] and len(span["reranker.query"]) <= 16_384
    assert span["reranker.input_documents.0.document.score"] == 1.0  # an int score is kept
    ragtel_spans.clear()
    tracer = ragtel_spans.tracer("oi-off", openinference=True, capture_content=False)
    with tracer.start_as_current_span("step"):
        tracer.log_rerank_event(before, after, {"query": "q", "model": "m"})
    span = dict(ragtel_spans.by_name("step").attributes)
    assert "reranker.query" not in span and "reranker.model_name" not in span


def test_mime_type_follows_what_the_mask_returned(ragtel_spans: SpanRecorder) -> None:
    def summarise(value: object) -> object:
        return "a dict" if isinstance(value, dict) else value

    tracer = ragtel_spans.tracer("oi-summarise", openinference=True, mask=summarise)
    with tracer.start_as_current_span("step"):
        tracer.log_span_event(input={"q": 1}, output=["x"], event_kind="custom")
    span = dict(ragtel_spans.by_name("step").attributes)
    assert (span["input.value"], span["input.mime_type"]) == ("a dict", "text/plain")
    assert span["output.mime_type"] == "application/json"


def test_event_metadata_is_masked_once_for_both_forms(ragtel_spans: SpanRecorder) -> None:
    seen: list[object] = []

    def mask(value: object) -> object:
        seen.append(value)
        return value

    tracer = ragtel_spans.tracer("oi-mask-once", openinference=True, mask=mask)
    metadata = {"model": "bge-reranker", "query": "q"}
    before = [{"id": "a", "content": "x"}]
    after = [{"id": "a", "content": "x", "score": 0.5}]
    with tracer.start_as_current_span("step"):
        tracer.log_rerank_event(before, after, metadata)
    assert [value for value in seen if value == metadata] == [metadata]
    span = dict(ragtel_spans.by_name("step").attributes)
    assert span["reranker.model_name"] == "bge-reranker"
