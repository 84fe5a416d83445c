"""The attribute builders alone: data in, attributes out, with no tracer and no span."""

from __future__ import annotations

from typing import Any

import pytest

from ragtel import Chunk, RetrievedChunk
from ragtel._attributes.chunks import read_chunks, read_document
from ragtel._attributes.context import context_attributes, merged
from ragtel._attributes.embeddings import embedding_record
from ragtel._attributes.events import EventRecord, as_event_kind
from ragtel._attributes.generation import LLMCall, llm_call_attributes
from ragtel._attributes.rag import retrieval_record, tool_call_record
from ragtel._config import CaptureConfig
from ragtel._types import RAGEventType

CAPTURE = CaptureConfig()
NO_CONTENT = CaptureConfig(capture_content=False)


def test_an_llm_call_is_a_value_and_its_attributes_a_pure_function_of_it() -> None:
    call = LLMCall(
        model="gpt-4o-mini",
        provider="openai",
        messages=[{"role": "user", "content": "hi"}],
        output="hello",
        params={"temperature": 0.2},
        finish_reason="stop",
        input_tokens=3,
        output_tokens=1,
        cost=0.0001,
        latency=0.25,
    )
    first = llm_call_attributes(call, capture=CAPTURE)
    assert first == llm_call_attributes(call, capture=CAPTURE)
    assert {key: first[key] for key in first if key.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 3,
        "gen_ai.usage.output_tokens": 1,
    }
    assert first["ragtel.output"] == "hello"
    assert first["ragtel.llm.cost"] == 0.0001
    assert first["ragtel.llm.latency"] == 0.25


def test_a_streamed_call_records_its_chunks_and_their_concatenation() -> None:
    attributes = llm_call_attributes(
        LLMCall(model="m", stream_chunks=["Hel", "lo"]), capture=CAPTURE
    )
    assert attributes["ragtel.llm.stream.chunk_count"] == 2
    assert attributes["ragtel.llm.stream.chunks"] == ["Hel", "lo"]
    assert attributes["ragtel.output"] == "Hello"


def test_without_content_capture_an_llm_call_keeps_its_counts_only() -> None:
    attributes = llm_call_attributes(
        LLMCall(model="m", prompt="secret plan", output="ok", stream_chunks=["ok"]),
        capture=NO_CONTENT,
    )
    assert "ragtel.input" not in attributes
    assert "ragtel.output" not in attributes
    assert "ragtel.llm.stream.chunks" not in attributes
    assert attributes["ragtel.llm.stream.chunk_count"] == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (LLMCall(model=""), "model must be a non-empty str"),
        (LLMCall(model="m", operation=""), "operation must be a non-empty str"),
        (LLMCall(model="m", provider=7), "provider must be a str"),  # type: ignore[arg-type]
        (LLMCall(model="m", params=[1]), "params must be a mapping"),  # type: ignore[arg-type]
        (LLMCall(model="m", finish_reason=[1]), "finish_reason must be a str or a list"),  # type: ignore[list-item]
        (LLMCall(model="m", input_tokens=True), "input_tokens must be an int"),
        (LLMCall(model="m", stream_chunks=[b"x"]), "stream_chunks must be a list of str"),  # type: ignore[list-item]
    ],
)
def test_an_llm_call_field_of_the_wrong_type_is_named(call: LLMCall, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        llm_call_attributes(call, capture=CAPTURE)


@pytest.mark.parametrize("field", ["cost", "latency"])
def test_a_negative_cost_or_latency_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a number >= 0"):
        llm_call_attributes(LLMCall(model="m", **{field: -1.0}), capture=CAPTURE)


def test_a_retrieval_event_is_built_without_a_tracer() -> None:
    record = retrieval_record(
        query="refunds?",
        retrieved_data=[RetrievedChunk("c7", "Five days.", retrieval_score=0.9)],
        metadata={"index": "faq"},
        name="search",
        capture=CAPTURE,
    )
    assert isinstance(record, EventRecord)
    assert record.kind is RAGEventType.RETRIEVAL
    assert record.event_name == "ragtel.retrieval"
    assert record.event_attributes["ragtel.chunk.ids"] == ["c7"]
    assert record.event_attributes["ragtel.chunk.scores"] == [0.9]
    assert record.event_attributes["ragtel.chunk.contents"] == ["Five days."]
    assert record.event_attributes["ragtel.event.name"] == "search"
    assert record.span_attributes["ragtel.span.kind"] == "retrieval"
    assert record.span_attributes["gen_ai.retrieval.query.text"] == "refunds?"


def test_openinference_keys_come_only_in_compatibility_mode() -> None:
    def keys(capture: CaptureConfig) -> set[str]:
        record = tool_call_record(
            tool="search",
            tool_args={"q": "x"},
            tool_result=[1],
            metadata=None,
            name=None,
            capture=capture,
        )
        return set(record.span_attributes)

    assert "openinference.span.kind" not in keys(CAPTURE)
    assert {"openinference.span.kind", "tool.name", "tool.parameters"} <= keys(
        CAPTURE._replace(openinference=True)
    )


def test_embedding_vectors_are_recorded_only_when_asked() -> None:
    def record(record_vectors: bool) -> dict[str, Any]:
        built = embedding_record(
            embeddings=[[0.123456, 1.0], [2.0, 3.0]],
            data=["a", "b"],
            metadata=None,
            name=None,
            capture=CAPTURE,
            record_vectors=record_vectors,
        )
        return dict(built.event_attributes)

    assert "ragtel.embedding.vectors" not in record(False)
    assert record(True)["ragtel.embedding.vectors"] == "[[0.1235, 1.0], [2.0, 3.0]]"
    assert record(True)["ragtel.embedding.dimensions"] == 2


def test_chunks_are_read_from_dataclasses_and_dicts_alike() -> None:
    chunks = read_chunks(
        [Chunk("a", "x"), {"id": "b", "content": "y", "score": 1}],
        "output_chunks",
        scored=False,
        max_length=100,
    )
    assert [(chunk.id, chunk.content, chunk.score) for chunk in chunks] == [
        ("a", "x", None),
        ("b", "y", 1.0),
    ]
    with pytest.raises(TypeError, match="output_chunks must be a list of chunks"):
        read_chunks("abc", "output_chunks", scored=False, max_length=100)
    with pytest.raises(ValueError, match="input_document needs an id"):
        read_document({"name": "no id"})


def test_an_unknown_event_kind_lists_the_known_ones() -> None:
    assert as_event_kind("retrieval") is RAGEventType.RETRIEVAL
    with pytest.raises(ValueError, match=r"event_kind must be one of .*retrieval"):
        as_event_kind("nope")


def test_nested_labels_merge_their_tags_and_let_the_inner_session_win() -> None:
    outer = context_attributes(
        session_id="s1", user_id=None, tags=["a"], metadata=None, capture=CAPTURE
    )
    inner = context_attributes(
        session_id="s2", user_id="u", tags=["b", "a"], metadata={"k": 1}, capture=CAPTURE
    )
    assert dict(merged(outer, inner)) == {
        "session.id": "s2",
        "gen_ai.conversation.id": "s2",
        "user.id": "u",
        "ragtel.tags": ["a", "b"],
        "ragtel.metadata.k": 1,
    }
