"""LlamaIndexInstrumentor: a real LlamaIndex RAG pipeline, offline, on LlamaIndex's own mocks.

Documents are split with a ``SentenceSplitter`` (tiktoken and NLTK data from the
caches llama-index-core bundles), embedded with ``MockEmbedding``, stored in the
default in-memory vector store, retrieved, reranked and answered by ``MockLLM``.
Every test runs with the network blocked: a connection to anything but the
loopback interface fails the test.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

import llama_index.core
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.llms.types import (
    ChatMessage,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.indices.base import BaseIndex
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.postprocessor import SimilarityPostprocessor, StructuredLLMRerank
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation import LlamaIndexInstrumentor
from ragtel.instrumentation.llama_index.handlers import (
    RagtelEventHandler,
    RagtelSpanHandler,
    remove_handlers,
)
from ragtel.instrumentation.llama_index.lifecycle import LlamaIndexRecorder
from ragtel.instrumentation.llama_index.spans import OpenSpan, OpenSpans, Role
from ragtel.testing import SpanRecorder

STATIC = Path(llama_index.core.__file__).parent / "_static"
SCOPE = "ragtel.instrumentation.llama_index"

DOCUMENTS = [
    (
        "refunds",
        "refunds.md",
        "Refunds are paid back to the card used for the order. A refund takes five business "
        "days once the parcel is back in our warehouse. Gift cards are refunded as store "
        "credit, which never expires. Orders paid by bank transfer are refunded by transfer "
        "within ten business days. We email you when the refund is on its way.",
    ),
    (
        "shipping",
        "shipping.md",
        "Shipping is free for orders over fifty euros. Smaller orders pay a flat fee of four "
        "euros. Parcels leave the warehouse within one business day and arrive within three "
        "days in most countries. Express delivery costs ten euros and arrives the next day. "
        "Tracking links are sent by email as soon as the parcel leaves.",
    ),
]
QUESTION = "How long does a refund take?"


# Fixtures ------------------------------------------------------------------------


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Blocks every connection and name lookup beyond loopback; the test fails if any was tried.

    LlamaIndex's tokenizer and sentence splitter data come from the caches
    llama-index-core bundles, named explicitly so a developer's environment
    cannot point them elsewhere.
    """
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(STATIC / "tiktoken_cache"))
    monkeypatch.setenv("NLTK_DATA", str(STATIC / "nltk_cache"))
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # Unix sockets
        return _is_loopback(address[0] if isinstance(address, tuple) else address)

    def connect(sock: socket.socket, address: Any) -> None:
        if not allowed(sock, address):
            attempts.append(address)
            raise OSError(f"network blocked in this test: {address!r}")
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not allowed(sock, address):
            attempts.append(address)
            raise OSError(f"network blocked in this test: {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            attempts.append(host)
            raise socket.gaierror(f"network blocked in this test: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"the test tried to reach the network: {attempts}"


# The instrumentor under test (conftest's instrumentor fixture instruments it per test).
INSTRUMENTOR = LlamaIndexInstrumentor


def build_index(chunk_size: int = 48, chunk_overlap: int = 8) -> VectorStoreIndex:
    documents = [
        Document(text=text, doc_id=doc_id, metadata={"file_name": name})
        for doc_id, name, text in DOCUMENTS
    ]
    return VectorStoreIndex.from_documents(
        documents,
        embed_model=MockEmbedding(embed_dim=8),
        transformations=[SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)],
    )


# Reading spans --------------------------------------------------------------------


def params_of(span: ReadableSpan) -> dict[str, Any]:
    return {
        key.removeprefix("ragtel.param."): value
        for key, value in (span.attributes or {}).items()
        if key.startswith("ragtel.param.")
    }


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    matches = [span for span in spans if span.name == name]
    assert len(matches) == 1, (name, [span.name for span in spans])
    return matches[0]


def root_of(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    (root,) = [span for span in spans if span.parent is None]
    return root


def ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[str]:
    by_id = {s.context.span_id: s for s in spans}
    names = []
    while span.parent is not None:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def event(span: ReadableSpan, name: str) -> dict[str, Any]:
    (found,) = [e for e in span.events if e.name == name]
    return dict(found.attributes or {})


def assert_one_trace(spans: Sequence[ReadableSpan]) -> None:
    assert len({span.context.trace_id for span in spans}) == 1
    ids = {span.context.span_id for span in spans}
    for span in spans:  # every parent is in the trace: nothing dangles
        assert span.parent is None or span.parent.span_id in ids, span.name


def chunk_ids_of(index: VectorStoreIndex, doc_id: str) -> list[str]:
    return list(index.ref_doc_info[doc_id].node_ids)


# Ingestion -----------------------------------------------------------------------


def test_ingestion_is_one_trace_with_chunking_embeddings_and_params(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index(chunk_size=48, chunk_overlap=8)
    spans = ragtel_spans.spans
    assert_one_trace(spans)
    root = root_of(spans)
    assert root.name == "VectorStoreIndex.from_documents"
    assert root.instrumentation_scope is not None
    assert root.instrumentation_scope.name == SCOPE

    parse = one(spans, "SentenceSplitter._parse_nodes")
    assert ancestors(parse, spans) == ["SentenceSplitter.__call__", root.name]
    chunkings = [dict(e.attributes or {}) for e in parse.events if e.name == "ragtel.chunking"]
    assert [c["ragtel.document.id"] for c in chunkings] == ["refunds", "shipping"]
    assert [c["ragtel.document.name"] for c in chunkings] == ["refunds.md", "shipping.md"]
    for chunking, (doc_id, _, text) in zip(chunkings, DOCUMENTS, strict=True):
        ids = chunk_ids_of(index, doc_id)
        assert len(ids) >= 2  # each document really was split
        assert list(chunking["ragtel.chunk.ids"]) == ids
        assert chunking["ragtel.chunk.count"] == len(ids)
        assert all(content in text for content in chunking["ragtel.chunk.contents"])
        assert json.loads(chunking["ragtel.event.metadata"]) == {
            "splitter": "SentenceSplitter",
            "chunk_size": 48,
            "chunk_overlap": 8,
        }

    embed = one(spans, "embeddings MockEmbedding")
    assert embed.kind is SpanKind.CLIENT
    assert embed.parent is not None and embed.parent.span_id == root.context.span_id
    embedded = [dict(e.attributes or {}) for e in embed.events if e.name == "ragtel.embedding"]
    assert sum(e["ragtel.embedding.count"] for e in embedded) == len(index.docstore.docs)
    assert {e["ragtel.embedding.dimensions"] for e in embedded} == {8}
    assert embed.attributes is not None
    assert embed.attributes["gen_ai.operation.name"] == "embeddings"

    assert params_of(root) == {
        "ingestion.chunk_strategy": "SentenceSplitter",
        "ingestion.chunk_size": 48,
        "ingestion.chunk_overlap": 8,
        "embedding.model": "MockEmbedding",
        "embedding.dimensions": 8,
    }


# Query --------------------------------------------------------------------------


def test_a_query_is_one_trace_with_its_rag_events_and_params(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index()
    ragtel_spans.clear()
    engine = index.as_query_engine(
        llm=MockLLM(max_tokens=6),
        similarity_top_k=2,
        node_postprocessors=[SimilarityPostprocessor(similarity_cutoff=0.5)],
    )
    response = engine.query(QUESTION)
    answer = str(response)
    assert answer == "text text text text text text"

    spans = ragtel_spans.spans
    assert_one_trace(spans)
    root = root_of(spans)
    assert root.name == "RetrieverQueryEngine.query"
    assert root.attributes is not None
    assert root.attributes["ragtel.input"] == QUESTION
    assert root.attributes["ragtel.span.kind"] == "query"
    assert event(root, "ragtel.query") == {"ragtel.query": QUESTION, "ragtel.response": answer}

    retrieve = one(spans, "VectorIndexRetriever.retrieve")
    assert ancestors(retrieve, spans) == ["RetrieverQueryEngine._query", root.name]
    retrieval = event(retrieve, "ragtel.retrieval")
    retrieved = list(retrieval["ragtel.chunk.ids"])
    assert retrieved == [node.node_id for node in response.source_nodes]
    assert len(retrieved) == 2
    assert retrieval["ragtel.query"] == QUESTION
    assert list(retrieval["ragtel.chunk.scores"]) == pytest.approx([1.0, 1.0])
    assert list(retrieval["ragtel.chunk.contents"]) == [
        node.node.get_content() for node in response.source_nodes
    ]
    assert json.loads(retrieval["ragtel.event.metadata"]) == {
        "retriever": "VectorIndexRetriever",
        "top_k": 2,
    }

    query_embedding = one(spans, "embeddings MockEmbedding")
    assert query_embedding.kind is SpanKind.CLIENT
    assert "VectorIndexRetriever.retrieve" in ancestors(query_embedding, spans)
    embedded = event(query_embedding, "ragtel.embedding")
    assert embedded["ragtel.embedding.count"] == 1
    assert list(embedded["ragtel.chunk.contents"]) == [QUESTION]

    postprocess = one(spans, "SimilarityPostprocessor._postprocess_nodes")
    rerank = event(postprocess, "ragtel.rerank")
    assert list(rerank["ragtel.rerank.input_ids"]) == retrieved
    assert list(rerank["ragtel.chunk.ids"]) == retrieved  # all above the cutoff

    synthesize = one(spans, "CompactAndRefine.synthesize")
    synthesis = event(synthesize, "ragtel.span")
    assert synthesis["ragtel.span.kind"] == "synthesize"
    assert (synthesis["ragtel.input"], synthesis["ragtel.output"]) == (QUESTION, answer)

    llm = one(spans, "text_completion MockLLM")
    assert [s.name for s in spans if s.kind is SpanKind.CLIENT] == [
        "embeddings MockEmbedding",
        llm.name,
    ]
    assert llm.kind is SpanKind.CLIENT
    assert ancestors(llm, spans)[:2] == ["MockLLM.predict", "DefaultRefineProgram.__call__"]
    assert "CompactAndRefine.synthesize" in ancestors(llm, spans)
    assert llm.attributes is not None
    assert llm.attributes["gen_ai.request.model"] == "MockLLM"
    assert llm.attributes["gen_ai.request.max_tokens"] == 6
    prompt = llm.attributes["ragtel.input"]
    assert isinstance(prompt, str) and QUESTION in prompt
    assert response.source_nodes[0].node.get_content() in prompt
    assert llm.attributes["ragtel.output"] == answer

    assert params_of(root) == {
        # The index was built outside any trace: its settings carry over.
        "ingestion.chunk_strategy": "SentenceSplitter",
        "ingestion.chunk_size": 48,
        "ingestion.chunk_overlap": 8,
        "retrieval.top_k": 2,
        "retrieval.retriever": "VectorIndexRetriever",
        "embedding.model": "MockEmbedding",
        "embedding.dimensions": 8,
        "retrieval.similarity_cutoff": 0.5,
        "generation.model": "MockLLM",
        "generation.max_tokens": 6,
    }
    assert all(span.status.status_code is StatusCode.UNSET for span in spans)


def test_an_async_query_records_the_same_trace_and_one_llm_span(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index()
    ragtel_spans.clear()
    engine = index.as_query_engine(llm=MockLLM(max_tokens=3), similarity_top_k=2)
    answer = str(asyncio.run(engine.aquery(QUESTION)))

    spans = ragtel_spans.spans
    assert_one_trace(spans)
    root = root_of(spans)
    assert root.name == "RetrieverQueryEngine.aquery"
    assert event(root, "ragtel.query")["ragtel.response"] == answer
    retrieve = one(spans, "VectorIndexRetriever.aretrieve")
    assert event(retrieve, "ragtel.retrieval")["ragtel.chunk.count"] == 2
    # MockLLM.acomplete runs MockLLM.complete: one call, so one LLM span; the inner method
    # keeps LlamaIndex's name and carries nothing of the call.
    llm = one(spans, "text_completion MockLLM")
    inner = one(spans, "MockLLM.complete")
    assert inner.kind is SpanKind.INTERNAL
    assert inner.parent is not None and inner.parent.span_id == llm.context.span_id
    assert not any(key.startswith(("gen_ai.", "ragtel.")) for key in inner.attributes or {})
    assert (llm.attributes or {})["ragtel.output"] == answer
    assert params_of(root)["generation.max_tokens"] == 3


def test_concurrent_queries_stay_in_their_own_traces(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index()
    ragtel_spans.clear()
    questions = ["How long does a refund take?", "Is shipping free?"]

    async def ask_both() -> None:
        engines = [
            index.as_query_engine(llm=MockLLM(max_tokens=k), similarity_top_k=k) for k in (1, 2)
        ]
        await asyncio.gather(*(e.aquery(q) for e, q in zip(engines, questions, strict=True)))

    asyncio.run(ask_both())
    traces: dict[int, list[ReadableSpan]] = {}
    for span in ragtel_spans.spans:
        traces.setdefault(span.context.trace_id, []).append(span)
    assert len(traces) == 2
    for spans in traces.values():
        assert_one_trace(spans)
        root = root_of(spans)
        question = event(root, "ragtel.query")["ragtel.query"]
        top_k = questions.index(question) + 1
        assert params_of(root)["retrieval.top_k"] == top_k
        assert params_of(root)["generation.max_tokens"] == top_k
        retrieval = event(one(spans, "VectorIndexRetriever.aretrieve"), "ragtel.retrieval")
        assert (retrieval["ragtel.query"], retrieval["ragtel.chunk.count"]) == (question, top_k)
        prompt = (one(spans, "text_completion MockLLM").attributes or {})["ragtel.input"]
        assert isinstance(prompt, str) and question in prompt


def test_a_query_inside_the_application_span_joins_its_trace(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index()
    ragtel_spans.clear()
    app: LastMileTracer = ragtel_spans.tracer("app", initial_params={"experiment": "b"})
    with app.start_as_current_span("answer"):
        index.as_query_engine(llm=MockLLM(max_tokens=2), similarity_top_k=1).query(QUESTION)
    spans = ragtel_spans.spans
    assert_one_trace(spans)
    root = root_of(spans)
    assert root.name == "answer"
    assert one(spans, "RetrieverQueryEngine.query").parent is not None
    assert params_of(root) == {
        "experiment": "b",
        # The index was built outside any trace: its settings carry over.
        "ingestion.chunk_strategy": "SentenceSplitter",
        "ingestion.chunk_size": 48,
        "ingestion.chunk_overlap": 8,
        "retrieval.top_k": 1,
        "retrieval.retriever": "VectorIndexRetriever",
        "embedding.model": "MockEmbedding",
        "embedding.dimensions": 8,
        "generation.model": "MockLLM",
        "generation.max_tokens": 2,
    }


# Reranking ------------------------------------------------------------------------


def test_a_reranker_that_sends_rerank_events_records_its_model_and_order(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    """StructuredLLMRerank asks its LLM to rank the documents; LlamaIndex's function-calling
    mock answers with the second document only, at relevance 9."""

    def rank_second_first(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        (tool,) = kwargs["tools"]
        ranking = {"documents": [{"document_number": 2, "relevance": 9}]}
        call = ToolCallBlock(tool_call_id="c1", tool_name=tool.metadata.name, tool_kwargs=ranking)
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[call])

    judge = MockFunctionCallingLLM(response_generator=rank_second_first)
    index = build_index()
    ragtel_spans.clear()
    engine = index.as_query_engine(
        llm=MockLLM(max_tokens=2),
        similarity_top_k=2,
        node_postprocessors=[StructuredLLMRerank(llm=judge, top_n=1)],
    )
    response = engine.query(QUESTION)

    spans = ragtel_spans.spans
    assert_one_trace(spans)
    retrieved = list(
        event(one(spans, "VectorIndexRetriever.retrieve"), "ragtel.retrieval")["ragtel.chunk.ids"]
    )
    postprocess = one(spans, "StructuredLLMRerank._postprocess_nodes")
    assert (postprocess.attributes or {})["ragtel.span.kind"] == "reranking"
    rerank = event(postprocess, "ragtel.rerank")
    assert list(rerank["ragtel.rerank.input_ids"]) == retrieved
    assert list(rerank["ragtel.chunk.ids"]) == [retrieved[1]]
    assert list(rerank["ragtel.chunk.scores"]) == [9.0]
    assert [node.node_id for node in response.source_nodes] == [retrieved[1]]
    assert json.loads(rerank["ragtel.event.metadata"]) == {
        "postprocessor": "StructuredLLMRerank",
        "model": "MockFunctionCallingLLM",
        "top_n": 1,
        "query": QUESTION,
    }
    judge_call = one(spans, "chat MockFunctionCallingLLM")
    assert judge_call.kind is SpanKind.CLIENT
    assert postprocess.name in ancestors(judge_call, spans)
    messages = json.loads(str((judge_call.attributes or {})["ragtel.input"]))
    assert messages[-1]["role"] == "user" and QUESTION in messages[-1]["content"]

    root = root_of(spans)
    assert params_of(root)["retrieval.reranking_model"] == "MockFunctionCallingLLM"
    assert params_of(root)["retrieval.rerank_top_n"] == 1


# LLM calls ------------------------------------------------------------------------


class MeteredLLM(MockLLM):
    """A MockLLM whose responses carry token usage, as provider integrations' do."""

    temperature: float = 0.2

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        usage = {"prompt_tokens": 42, "completion_tokens": 4}
        return CompletionResponse(text="Five business days.", raw={"usage": usage})


class UnavailableLLM(MockLLM):
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise ConnectionError("model unavailable")


def test_llm_calls_record_messages_output_usage_and_settings(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    app = ragtel_spans.tracer("app")
    llm = MeteredLLM(max_tokens=16)
    with app.start_as_current_span("answer"):
        reply = llm.chat([ChatMessage(role=MessageRole.USER, content="Refund time?")], seed=7)
    assert reply.message.content == "Five business days."

    spans = ragtel_spans.spans
    call = one(spans, "chat MeteredLLM")
    assert call.kind is SpanKind.CLIENT
    attributes = dict(call.attributes or {})
    assert json.loads(attributes["ragtel.input"]) == [{"role": "user", "content": "Refund time?"}]
    assert attributes["ragtel.output"] == "Five business days."
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        42,
        4,
    )
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.max_tokens"] == 16
    assert attributes["gen_ai.request.seed"] == 7  # a setting given with the call
    # CustomLLM.chat answers through complete: that is the same call, not a second one.
    inner = one(spans, "MeteredLLM.complete")
    assert inner.parent is not None and inner.parent.span_id == call.context.span_id
    assert "gen_ai.usage.input_tokens" not in (inner.attributes or {})
    assert params_of(one(spans, "answer")) == {
        "generation.model": "MeteredLLM",
        "generation.temperature": 0.2,
        "generation.max_tokens": 16,
        "generation.seed": 7,
    }


def test_a_streamed_llm_call_ends_when_its_stream_does(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    app = ragtel_spans.tracer("app")
    llm = MockLLM(max_tokens=4)
    with app.start_as_current_span("answer"):
        stream = llm.stream_complete("Refund time?")
        assert "text_completion MockLLM" not in ragtel_spans.names()  # returned, not yet read
        streamed = "".join(piece.delta or "" for piece in stream)
    call = one(ragtel_spans.spans, "text_completion MockLLM")
    assert (call.attributes or {})["ragtel.output"] == streamed == "text text text text"
    assert call.status.status_code is StatusCode.UNSET
    assert call.end_time is not None and call.end_time <= one(ragtel_spans.spans, "answer").end_time

    # A stream the application stops reading ends there, with what it received.
    ragtel_spans.clear()
    with app.start_as_current_span("answer"):
        stream = llm.stream_complete("Refund time?")
        first = next(stream).delta
        stream.close()
    call = one(ragtel_spans.spans, "text_completion MockLLM")
    assert (call.attributes or {})["ragtel.output"] == first
    assert call.status.status_code is StatusCode.UNSET
    assert params_of(one(ragtel_spans.spans, "answer"))["generation.model"] == "MockLLM"


def test_a_failing_call_is_recorded_and_its_exception_passes_through_unchanged(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index()
    ragtel_spans.clear()
    engine = index.as_query_engine(llm=UnavailableLLM(), similarity_top_k=1)
    with pytest.raises(ConnectionError, match=r"^model unavailable$"):
        engine.query(QUESTION)

    spans = ragtel_spans.spans
    assert_one_trace(spans)
    call = one(spans, "text_completion UnavailableLLM")
    failed = [span for span in spans if span.status.status_code is StatusCode.ERROR]
    # The call and every step it was part of failed, up to the root.
    assert {call.name, *ancestors(call, spans)} == {span.name for span in failed}
    for span in failed:
        assert span.status.description == "ConnectionError: model unavailable"
        assert (span.attributes or {})["error.type"] == "ConnectionError"
        (exception,) = [e for e in span.events if e.name == "exception"]
        assert (exception.attributes or {})["exception.type"] == "ConnectionError"
    # The request is kept: which model was asked what.
    assert QUESTION in str((call.attributes or {})["ragtel.input"])
    assert (call.attributes or {})["gen_ai.request.model"] == "UnavailableLLM"
    assert instrumentor._installed is not None
    assert instrumentor._installed[3].open_span_count == 0  # every span ended


def test_a_failure_of_ragtel_recording_never_reaches_the_application(
    instrumentor: LlamaIndexInstrumentor,
    ragtel_spans: SpanRecorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    index = build_index()
    ragtel_spans.clear()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("recording bug")

    monkeypatch.setattr(LastMileTracer, "log_retrieval_event", broken)
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        answer = index.as_query_engine(llm=MockLLM(max_tokens=2), similarity_top_k=1).query(
            QUESTION
        )
    assert str(answer) == "text text"
    assert any("RetrievalEndEvent" in r.getMessage() for r in caplog.records), caplog.text
    retrieve = one(ragtel_spans.spans, "VectorIndexRetriever.retrieve")  # still ended
    assert not any(e.name == "ragtel.retrieval" for e in retrieve.events)
    assert event(root_of(ragtel_spans.spans), "ragtel.query")["ragtel.response"] == "text text"


# Switching off ---------------------------------------------------------------------


def test_uninstrument_removes_exactly_its_handlers_and_records_nothing_more(
    ragtel_spans: SpanRecorder,
) -> None:
    dispatcher = get_dispatcher()
    span_handlers, event_handlers = list(dispatcher.span_handlers), list(dispatcher.event_handlers)
    original = BaseIndex.__dict__["from_documents"]
    instrumentor = LlamaIndexInstrumentor()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)  # idempotent
    try:
        ours = [h for h in dispatcher.span_handlers if isinstance(h, RagtelSpanHandler)]
        assert len(ours) == 1
        assert sum(isinstance(h, RagtelEventHandler) for h in dispatcher.event_handlers) == 1
        assert BaseIndex.__dict__["from_documents"] is not original
        build_index()
        assert ragtel_spans.spans
    finally:
        instrumentor.uninstrument()
    instrumentor.uninstrument()  # idempotent too

    assert dispatcher.span_handlers == span_handlers
    assert all(a is b for a, b in zip(dispatcher.span_handlers, span_handlers, strict=True))
    assert all(a is b for a, b in zip(dispatcher.event_handlers, event_handlers, strict=True))
    assert len(dispatcher.event_handlers) == len(event_handlers)
    assert BaseIndex.__dict__["from_documents"] is original
    ragtel_spans.clear()
    index = build_index()
    index.as_query_engine(llm=MockLLM(max_tokens=2), similarity_top_k=1).query(QUESTION)
    assert ragtel_spans.spans == []

    # And on again, after being off.
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    try:
        index.as_query_engine(llm=MockLLM(max_tokens=2), similarity_top_k=1).query(QUESTION)
    finally:
        instrumentor.uninstrument()
    assert root_of(ragtel_spans.spans).name == "RetrieverQueryEngine.query"


def test_a_stream_never_read_is_ended_when_instrumentation_stops(
    ragtel_spans: SpanRecorder,
) -> None:
    instrumentor = LlamaIndexInstrumentor()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    try:
        stream = MockLLM(max_tokens=3).stream_complete("never read")
        assert ragtel_spans.names() == []
    finally:
        instrumentor.uninstrument()
    assert ragtel_spans.names() == ["text_completion MockLLM"]
    del stream


def test_open_spans_are_bounded_and_the_oldest_are_ended_first(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    """Streams nobody reads never end on their own: past the bound, the oldest is ended."""
    tracer = ragtel_spans.tracer("ragtel.instrumentation.llama_index.bounded")
    recorder = LlamaIndexRecorder(tracer, steps_aside=lambda: False, max_open_spans=2)
    handlers = RagtelSpanHandler(recorder), RagtelEventHandler(recorder)
    dispatcher = get_dispatcher()
    dispatcher.add_span_handler(handlers[0])
    dispatcher.add_event_handler(handlers[1])
    try:
        with caplog.at_level(logging.WARNING, logger="ragtel"):
            streams = [MockLLM(max_tokens=2).stream_complete(f"prompt {i}") for i in range(3)]
        assert recorder.open_span_count == 2
        (evicted,) = ragtel_spans.spans
        assert "prompt 0" in str((evicted.attributes or {})["ragtel.input"])
        assert "LlamaIndex spans open at once" in caplog.text
        "".join(piece.delta or "" for piece in streams[2])  # a tracked stream still ends normally
        assert recorder.open_span_count == 1
    finally:
        remove_handlers(dispatcher, *handlers)
        recorder.close()
    assert len(ragtel_spans.spans) == 3 and recorder.open_span_count == 0


def test_open_spans_map_takes_each_span_out_once() -> None:
    spans = OpenSpans(limit=2)
    records = [OpenSpan(None, Role.OTHER, None, None) for _ in range(3)]
    assert spans.add("a", records[0]) == []
    assert spans.add("b", records[1]) == []
    assert spans.add("c", records[2]) == [records[0]]
    assert spans.pop("a") is None
    assert spans.pop_if("b", records[2]) is False
    assert spans.pop_if("b", records[1]) is True
    assert spans.drain() == [records[2]] and len(spans) == 0


# Isolated processes ---------------------------------------------------------------

_GUARD = """
import socket
attempts = []
def _blocked(*args, **kwargs):
    attempts.append(args[1:] or args)
    raise OSError("network blocked")
socket.socket.connect = _blocked
socket.socket.connect_ex = _blocked
socket.getaddrinfo = _blocked
"""

_PIPELINE = """
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from ragtel.instrumentation import LlamaIndexInstrumentor

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
"""

_QUERY = """
index = VectorStoreIndex.from_documents(
    [Document(text="Refunds take five business days. Shipping is free.", doc_id="faq")],
    embed_model=MockEmbedding(embed_dim=8),
    transformations=[SentenceSplitter(chunk_size=16, chunk_overlap=2)],
)
engine = index.as_query_engine(llm=MockLLM(max_tokens=2), similarity_top_k=1)
answer = str(engine.query("How long does a refund take?"))
spans = exporter.get_finished_spans()
(root,) = [s for s in spans if s.parent is None and s.name.endswith(".query")]
print(json.dumps({
    "answer": answer,
    "attempts": attempts,
    "scopes": sorted({s.instrumentation_scope.name for s in spans}),
    "genai_spans": sorted(s.name for s in spans if "gen_ai.operation.name" in s.attributes),
    "query_root_params": {
        k: v for k, v in root.attributes.items() if k.startswith("ragtel.param.")
    },
}))
"""


def run_isolated(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (nothing loaded or cached yet) and read its JSON."""
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(STATIC / "tiktoken_cache"),
        "NLTK_DATA": str(STATIC / "nltk_cache"),
    }
    run = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.integration
def test_the_pipeline_runs_with_no_network_in_a_fresh_process() -> None:
    """tiktoken's encoding and NLTK's sentence data load from llama-index-core's bundled
    caches: with every connection refused from the start, nothing is missing."""
    code = (
        _GUARD
        + _PIPELINE
        + ("LlamaIndexInstrumentor().instrument(tracer_provider=provider)\n")
        + _QUERY
    )
    result = run_isolated(code)
    assert result["attempts"] == []
    assert result["answer"] == "text text"
    assert result["scopes"] == [SCOPE]
    assert result["query_root_params"]["ragtel.param.retrieval.top_k"] == 1


@pytest.mark.integration
@pytest.mark.skipif(
    find_spec("openinference") is None
    or find_spec("openinference.instrumentation.llama_index") is None,
    reason="openinference-instrumentation-llama-index is not installed",
)
def test_ragtel_steps_aside_for_openinference_and_keeps_the_params() -> None:
    """With OpenInference's LlamaIndex instrumentor on, ragtel creates no span (no duplicate
    LLM span) and still records the ParamSet, on OpenInference's root span. Run in its own
    process: OpenInference's attributes are not ragtel's to declare."""
    code = (
        _GUARD
        + _PIPELINE
        + textwrap.dedent(
            """
            from openinference.instrumentation.llama_index import (
                LlamaIndexInstrumentor as OpenInferenceInstrumentor,
            )
            OpenInferenceInstrumentor().instrument(tracer_provider=provider)
            LlamaIndexInstrumentor().instrument(tracer_provider=provider)
            """
        )
        + _QUERY
    )
    result = run_isolated(code)
    assert result["answer"] == "text text"
    assert SCOPE not in result["scopes"]
    assert result["genai_spans"] == []  # ragtel added no LLM span, nor LLM attributes
    assert result["query_root_params"] == {
        "ragtel.param.retrieval.top_k": 1,
        "ragtel.param.retrieval.retriever": "VectorIndexRetriever",
        "ragtel.param.embedding.model": "MockEmbedding",
        "ragtel.param.embedding.dimensions": 8,
        "ragtel.param.generation.model": "MockLLM",
        "ragtel.param.generation.max_tokens": 2,
    }


def test_an_index_built_outside_any_trace_passes_its_settings_to_later_query_traces(
    instrumentor: LlamaIndexInstrumentor, ragtel_spans: SpanRecorder
) -> None:
    index = build_index(chunk_size=96, chunk_overlap=12)
    ingestion = params_of(root_of(ragtel_spans.spans))
    built = len(ragtel_spans.spans)
    index.as_query_engine(llm=MockLLM(max_tokens=16), similarity_top_k=1).query(QUESTION)

    query = params_of(root_of(ragtel_spans.spans[built:]))
    assert query["ingestion.chunk_size"] == 96
    assert query["ingestion.chunk_overlap"] == 12
    assert query["embedding.model"] == ingestion["embedding.model"]
    assert query["retrieval.top_k"] == 1
