"""The LangChain instrumentor, on a small real RAG pipeline made of LangChain's own offline parts.

The pipeline: ``RecursiveCharacterTextSplitter`` → ``DeterministicFakeEmbedding`` →
``InMemoryVectorStore`` and its retriever (``k`` = 2) → an LCEL chain
(retriever | format | prompt | fake chat model | parser), plus a ``@tool``.
Spans are read from an SDK provider in memory (the ``ragtel_spans`` fixture).

Fake chat models and params: ``GenericFakeChatModel`` names no model and no
settings, so its ``_llm_type`` (``generic-fake-chat-model``) stands for the
model. ``_NamedFakeChatModel`` below is the same fake with the two fields real
integrations have, ``model_name`` and ``temperature``: LangChain reports them as
``ls_model_name`` and ``ls_temperature``, which become ``generation.model`` and
``generation.temperature``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.callbacks.manager import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_core.tools import tool
from langchain_core.vectorstores import InMemoryVectorStore, VectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from ragtel.instrumentation.langchain import LangChainInstrumentor
from ragtel.instrumentation.langchain.runs import OpenRuns, Run
from ragtel.testing import SpanRecorder
from semconv_check import Checker, LiveCheck

HANDBOOK = (
    "Refunds are paid back to the original card within five working days. "
    "Orders above fifty euros ship for free; smaller orders cost four euros. "
    "Support answers by email within one working day, and by chat from nine to five."
)
QUESTION = "How long do refunds take?"
ANSWER = "Within five working days."
CHUNK_SIZE = 80
CHUNK_OVERLAP = 10
DIMENSIONS = 16

# What instrument() replaces, to check that uninstrument() puts every one back.
ORIGINALS = {
    (owner, name): owner.__dict__[name]
    for owner, name in [
        (CallbackManager, "configure"),
        (AsyncCallbackManager, "configure"),
        (BaseRetriever, "invoke"),
        (BaseRetriever, "ainvoke"),
        (DeterministicFakeEmbedding, "embed_documents"),
        (DeterministicFakeEmbedding, "embed_query"),
        (Embeddings, "aembed_documents"),
        (Embeddings, "aembed_query"),
        (InMemoryVectorStore, "similarity_search_with_score"),
        (VectorStore, "similarity_search_with_relevance_scores"),
        (TextSplitter, "split_documents"),
        (TextSplitter, "create_documents"),
        (RecursiveCharacterTextSplitter, "split_text"),
    ]
}


class _NamedFakeChatModel(GenericFakeChatModel):
    """LangChain's fake chat model with the fields a real integration names its settings by."""

    model_name: str = "fake-gpt"
    temperature: float = 0.2


class _FailingChatModel(GenericFakeChatModel):
    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("model unreachable")


class _ScoredRetriever(BaseRetriever):
    """A retriever with no vector store: its scores come in the documents' metadata."""

    k: int = 3

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document("Refunds take five days.", id="a", metadata={"relevance_score": 0.75}),
            Document("Shipping is free above fifty euros.", id="b"),
        ][: self.k]


class _FailingRetriever(BaseRetriever):
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        raise TimeoutError("index offline")


# Fixtures -------------------------------------------------------------------------------


# The instrumentor under test (conftest's instrumentor fixture instruments it per test).
INSTRUMENTOR = LangChainInstrumentor


def ingest(tracer: Any | None = None) -> InMemoryVectorStore:
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.split_documents([Document(HANDBOOK, metadata={"source": "handbook.md"})])
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=DIMENSIONS))
    store.add_documents(chunks)
    return store


def answer_model(model: type[GenericFakeChatModel] = GenericFakeChatModel) -> Any:
    usage = {"input_tokens": 42, "output_tokens": 5, "total_tokens": 47}
    return model(messages=itertools.repeat(AIMessage(ANSWER, usage_metadata=usage)))


def rag_chain(store: InMemoryVectorStore, model: Any = None) -> Runnable[str, str]:
    retriever = store.as_retriever(search_kwargs={"k": 2})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\n{context}"), ("human", "{question}")]
    )

    def format_documents(documents: list[Document]) -> str:
        return "\n".join(document.page_content for document in documents)

    return (
        {"context": retriever | RunnableLambda(format_documents), "question": RunnablePassthrough()}
        | prompt
        | (model if model is not None else answer_model())
        | StrOutputParser()
    )


# Helpers ----------------------------------------------------------------------------------


def only(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    matches = [span for span in spans if span.name == name]
    assert len(matches) == 1, (name, [span.name for span in spans])
    return matches[0]


def parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    if span.parent is None:
        return None
    (parent,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    return parent


def params_of(span: ReadableSpan) -> dict[str, Any]:
    attributes = span.attributes or {}
    return {
        key.removeprefix("ragtel.param."): value
        for key, value in attributes.items()
        if key.startswith("ragtel.param.")
    }


def event(span: ReadableSpan, name: str) -> dict[str, Any]:
    (found,) = [e for e in span.events if e.name == name]
    return dict(found.attributes or {})


def assert_one_trace_ended_once(spans: list[ReadableSpan]) -> ReadableSpan:
    """All spans in one trace, each ended and exported once, under one root; returns the root."""
    assert len({span.context.trace_id for span in spans}) == 1, [s.name for s in spans]
    assert len({span.context.span_id for span in spans}) == len(spans)
    assert all(span.end_time is not None for span in spans)
    roots = [span for span in spans if span.parent is None]
    assert len(roots) == 1, [s.name for s in roots]
    for span in spans:
        assert span is roots[0] or parent_of(span, spans) is not None, span.name
    return roots[0]


# Ingestion -----------------------------------------------------------------------------


def test_ingestion_records_chunking_and_embedding_with_their_params(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    tracer = ragtel_spans.tracer("app")
    with tracer.start_as_current_span("ingest"):
        store = ingest()
    spans = ragtel_spans.spans
    root = assert_one_trace_ended_once(spans)
    assert root.name == "ingest"
    # The outermost split call only: split_documents, not create_documents or split_text.
    assert sorted(span.name for span in spans) == [
        "RecursiveCharacterTextSplitter.split_documents",
        "embeddings DeterministicFakeEmbedding",
        "ingest",
    ]
    splitting = only(spans, "RecursiveCharacterTextSplitter.split_documents")
    embedding = only(spans, "embeddings DeterministicFakeEmbedding")
    assert parent_of(splitting, spans) is root and parent_of(embedding, spans) is root
    assert embedding.kind is SpanKind.CLIENT

    chunks = [entry["text"] for entry in store.store.values()]
    chunking = event(splitting, "ragtel.chunking")
    assert chunking["ragtel.document.name"] == "handbook.md"
    assert str(chunking["ragtel.document.id"]).startswith("text-")  # the text's stable id
    assert chunking["ragtel.chunk.count"] == len(chunks) > 1
    assert list(chunking["ragtel.chunk.contents"]) == chunks
    assert list(chunking["ragtel.chunk.ids"]) == [
        f"{chunking['ragtel.document.id']}#{index}" for index in range(len(chunks))
    ]
    assert json.loads(str(chunking["ragtel.document.extras"])) == {"source": "handbook.md"}

    embedded = event(embedding, "ragtel.embedding")
    assert embedded["ragtel.embedding.count"] == len(chunks)
    assert embedded["ragtel.embedding.dimensions"] == DIMENSIONS
    assert list(embedded["ragtel.chunk.contents"]) == chunks
    assert embedding.attributes["gen_ai.embeddings.dimension.count"] == DIMENSIONS

    assert params_of(root) == {
        "ingestion.chunk_size": CHUNK_SIZE,
        "ingestion.chunk_overlap": CHUNK_OVERLAP,
        "ingestion.chunk_strategy": "RecursiveCharacterTextSplitter",
        "embedding.model": "DeterministicFakeEmbedding",
        "embedding.dimensions": DIMENSIONS,
    }


def test_split_text_and_create_documents_each_record_one_event_per_text(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    splitter = RecursiveCharacterTextSplitter(chunk_size=40, chunk_overlap=0, add_start_index=True)
    pieces = splitter.split_text(HANDBOOK)
    documents = splitter.create_documents(["one two three " * 5, "four five"], [{"page": 1}, {}])
    spans = ragtel_spans.spans
    assert [span.name for span in spans] == [
        "RecursiveCharacterTextSplitter.split_text",
        "RecursiveCharacterTextSplitter.create_documents",
    ]
    (split_event,) = spans[0].events
    assert list(split_event.attributes["ragtel.chunk.contents"]) == pieces
    first, second = spans[1].events
    assert first.attributes["ragtel.chunk.count"] + second.attributes["ragtel.chunk.count"] == len(
        documents
    )
    assert json.loads(first.attributes["ragtel.document.extras"]) == {"page": 1}
    # A chunk's extras are what it adds to its document's metadata.
    extras = [json.loads(text) for text in first.attributes["ragtel.chunk.extras"]]
    assert extras[0] == {"start_index": 0} and all(set(e) == {"start_index"} for e in extras)
    # Outside any trace, each call is its own trace, carrying the splitter's params.
    assert params_of(spans[0])["ingestion.chunk_size"] == 40


def test_ingestion_outside_a_trace_sets_the_params_of_later_query_traces(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()  # at start-up, with no trace: the index's settings become defaults
    ragtel_spans.clear()
    assert rag_chain(store).invoke(QUESTION) == ANSWER
    root = assert_one_trace_ended_once(ragtel_spans.spans)
    params = params_of(root)
    assert params["ingestion.chunk_size"] == CHUNK_SIZE
    assert params["ingestion.chunk_overlap"] == CHUNK_OVERLAP
    assert params["embedding.model"] == "DeterministicFakeEmbedding"
    assert params["retrieval.top_k"] == 2


# The query chain -------------------------------------------------------------------------


def test_the_chain_is_one_trace_with_langchain_s_structure(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    ragtel_spans.clear()
    tracer = ragtel_spans.tracer("app")
    with tracer.start_as_current_span("answer"):
        assert rag_chain(store).invoke(QUESTION) == ANSWER
    spans = ragtel_spans.spans
    root = assert_one_trace_ended_once(spans)
    assert root.name == "answer"

    def parent_name(name: str) -> str | None:
        parent = parent_of(only(spans, name), spans)
        return parent.name if parent is not None else None

    outer, inner = sorted(
        (s for s in spans if s.name == "RunnableSequence"), key=lambda s: s.start_time or 0
    )
    assert parent_of(outer, spans) is root and parent_of(inner, spans).name.startswith(
        "RunnableParallel"
    )
    assert parent_name("RunnableParallel<context,question>") == "RunnableSequence"
    assert parent_of(only(spans, "retrieval VectorStoreRetriever"), spans) is inner
    assert parent_of(only(spans, "format_documents"), spans) is inner  # a lambda: its name
    assert parent_name("RunnablePassthrough") == "RunnableParallel<context,question>"
    for step in ("ChatPromptTemplate", "chat generic-fake-chat-model", "StrOutputParser"):
        assert parent_of(only(spans, step), spans) is outer, step
    # The query embedding runs inside the retriever: its span is the retrieval's child.
    assert parent_name("embeddings DeterministicFakeEmbedding") == "retrieval VectorStoreRetriever"
    assert instrumentor._handler is not None and len(instrumentor._handler.runs) == 0


def test_the_retrieval_event_has_the_documents_their_scores_and_top_k(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    expected = store.similarity_search_with_score(QUESTION, k=2)
    ragtel_spans.clear()
    rag_chain(store).invoke(QUESTION)
    spans = ragtel_spans.spans
    retrieval = only(spans, "retrieval VectorStoreRetriever")
    retrieved = event(retrieval, "ragtel.retrieval")
    assert retrieved["ragtel.query"] == QUESTION
    assert list(retrieved["ragtel.chunk.ids"]) == [document.id for document, _ in expected]
    assert list(retrieved["ragtel.chunk.contents"]) == [d.page_content for d, _ in expected]
    # The vector store's own similarity scores, which the retriever drops.
    assert list(retrieved["ragtel.chunk.scores"]) == pytest.approx([s for _, s in expected])
    assert [json.loads(e) for e in retrieved["ragtel.chunk.extras"]] == [
        {"source": "handbook.md"}
    ] * 2
    assert retrieval.attributes["gen_ai.operation.name"] == "retrieval"
    assert retrieval.attributes["gen_ai.retrieval.query.text"] == QUESTION
    assert params_of(assert_one_trace_ended_once(spans))["retrieval.top_k"] == 2
    assert params_of(only(spans, "embeddings DeterministicFakeEmbedding")) == {}
    root = assert_one_trace_ended_once(spans)
    assert params_of(root)["query.embedding_model"] == "DeterministicFakeEmbedding"
    assert params_of(root)["query.embedding_dimensions"] == DIMENSIONS


def test_scores_from_metadata_top_k_from_the_retriever_and_unscored_documents(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    documents = _ScoredRetriever(k=2).invoke(QUESTION)
    assert [document.id for document in documents] == ["a", "b"]
    (span,) = ragtel_spans.spans
    assert span.name == "retrieval _ScoredRetriever"
    scores = list(event(span, "ragtel.retrieval")["ragtel.chunk.scores"])
    assert scores[0] == 0.75 and math.isnan(scores[1])  # no score given: NaN
    assert params_of(span)["retrieval.top_k"] == 2


def test_the_chat_model_call_is_a_client_span_with_usage_and_generation_params(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    ragtel_spans.clear()
    rag_chain(store).invoke(QUESTION)
    spans = ragtel_spans.spans
    chat = only(spans, "chat generic-fake-chat-model")
    assert chat.kind is SpanKind.CLIENT
    attributes = chat.attributes or {}
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "generic-fake-chat-model"
    assert attributes["gen_ai.provider.name"] == "genericfakechatmodel"  # as LangChain reports
    assert attributes["gen_ai.usage.input_tokens"] == 42
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["ragtel.output"] == ANSWER
    messages = json.loads(str(attributes["ragtel.input"]))
    assert [message["role"] for message in messages] == ["system", "user"]
    assert messages[1]["content"] == QUESTION
    assert messages[0]["content"].startswith("Answer from the context.\nRefunds")
    root = assert_one_trace_ended_once(spans)
    assert params_of(root)["generation.model"] == "generic-fake-chat-model"


def test_model_name_and_temperature_of_the_model_become_generation_params(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    ragtel_spans.clear()
    rag_chain(store, answer_model(_NamedFakeChatModel)).invoke(QUESTION)
    spans = ragtel_spans.spans
    chat = only(spans, "chat fake-gpt")
    assert chat.attributes["gen_ai.request.model"] == "fake-gpt"
    assert chat.attributes["gen_ai.request.temperature"] == 0.2
    params = params_of(assert_one_trace_ended_once(spans))
    assert params["generation.model"] == "fake-gpt"
    assert params["generation.temperature"] == 0.2


def test_a_completion_model_records_its_prompt(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    assert FakeListLLM(responses=[ANSWER]).invoke(QUESTION) == ANSWER
    (span,) = ragtel_spans.spans
    assert span.name == "text_completion fake-list"
    assert span.attributes["gen_ai.operation.name"] == "text_completion"
    assert span.attributes["ragtel.input"] == QUESTION
    assert span.attributes["ragtel.output"] == ANSWER


def test_the_outermost_chain_gets_a_query_event(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    ragtel_spans.clear()
    rag_chain(store).invoke(QUESTION)
    spans = ragtel_spans.spans
    root = assert_one_trace_ended_once(spans)
    assert root.name == "RunnableSequence"
    query = event(root, "ragtel.query")
    assert query["ragtel.query"] == QUESTION and query["ragtel.response"] == ANSWER
    inner = [s for s in spans if s is not root and any(e.name == "ragtel.query" for e in s.events)]
    assert inner == []


def test_a_tool_call_is_recorded_on_the_tool_s_span(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    @tool
    def shipping_cost(total_euros: float) -> float:
        """Shipping cost of an order."""
        return 0.0 if total_euros > 50 else 4.0

    assert shipping_cost.invoke({"total_euros": 30}) == 4.0
    (span,) = ragtel_spans.spans
    assert span.name == "execute_tool shipping_cost"
    call = event(span, "ragtel.tool_call")
    assert call["gen_ai.tool.name"] == "shipping_cost"
    assert json.loads(str(call["gen_ai.tool.call.arguments"])) == {"total_euros": 30}
    assert json.loads(str(call["gen_ai.tool.call.result"])) == 4.0
    assert span.attributes["gen_ai.operation.name"] == "execute_tool"


# Errors -------------------------------------------------------------------------------------


def assert_failed(span: ReadableSpan, error: BaseException) -> None:
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(error).__qualname__
    (exception,) = [e for e in span.events if e.name == "exception"]
    assert exception.attributes["exception.message"] == str(error)


def test_a_failing_step_fails_its_span_and_its_ancestors_and_reaches_the_caller(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    error = ValueError("bad context")

    def explode(documents: list[Document]) -> str:
        raise error

    store = ingest()
    ragtel_spans.clear()
    chain = store.as_retriever() | RunnableLambda(explode) | StrOutputParser()
    with pytest.raises(ValueError) as raised:
        chain.invoke(QUESTION)
    assert raised.value is error  # unchanged
    spans = ragtel_spans.spans
    root = assert_one_trace_ended_once(spans)
    assert_failed(only(spans, "explode"), error)
    assert_failed(root, error)
    assert only(spans, "retrieval VectorStoreRetriever").status.status_code is StatusCode.UNSET
    assert instrumentor._handler is not None and len(instrumentor._handler.runs) == 0


def test_failing_models_retrievers_and_tools_fail_their_spans(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    @tool
    def lookup(order: str) -> str:
        """Look an order up."""
        raise KeyError(order)

    with pytest.raises(ConnectionError):
        _FailingChatModel(messages=iter([])).invoke(QUESTION)
    with pytest.raises(TimeoutError):
        _FailingRetriever().invoke(QUESTION)
    with pytest.raises(KeyError):
        lookup.invoke({"order": "A-1"})
    chat, retrieval, tool_span = ragtel_spans.spans
    assert chat.name == "chat generic-fake-chat-model"
    assert_failed(chat, ConnectionError("model unreachable"))
    # The request and the model are recorded all the same.
    assert json.loads(str(chat.attributes["ragtel.input"]))[0]["content"] == QUESTION
    assert params_of(chat)["generation.model"] == "generic-fake-chat-model"
    assert_failed(retrieval, TimeoutError("index offline"))
    assert [e.name for e in retrieval.events] == ["exception"]
    assert tool_span.name == "execute_tool lookup"
    assert tool_span.status.status_code is StatusCode.ERROR
    assert tool_span.attributes["error.type"] == "KeyError"


def test_a_recording_failure_is_logged_and_the_call_goes_on(
    ragtel_spans: SpanRecorder,
    instrumentor: LangChainInstrumentor,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = ingest()
    handler = instrumentor._handler
    assert handler is not None

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("recording bug")

    monkeypatch.setattr(handler._tracer, "log_retrieval_event", broken)
    monkeypatch.setattr(handler._tracer, "log_llm_call", broken)
    ragtel_spans.clear()
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        assert rag_chain(store).invoke(QUESTION) == ANSWER
    failures = [r for r in caplog.records if r.name == "ragtel" and "could not record" in r.msg]
    assert len(failures) == 2
    assert_one_trace_ended_once(ragtel_spans.spans)  # every span still ends


# Concurrency -----------------------------------------------------------------------------------


def test_ainvoke_and_concurrent_tasks_each_make_one_well_formed_trace(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    chain = rag_chain(store)
    ragtel_spans.clear()

    async def main() -> list[str]:
        return list(await asyncio.gather(*(chain.ainvoke(QUESTION) for _ in range(3))))

    assert asyncio.run(main()) == [ANSWER] * 3
    spans = ragtel_spans.spans
    traces: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        traces.setdefault(span.context.trace_id, []).append(span)
    assert len(traces) == 3
    for trace_spans in traces.values():
        root = assert_one_trace_ended_once(trace_spans)
        assert root.name == "RunnableSequence"
        embedding = only(trace_spans, "embeddings DeterministicFakeEmbedding")  # aembed_query: once
        assert parent_of(embedding, trace_spans).name == "retrieval VectorStoreRetriever"
        chat = only(trace_spans, "chat generic-fake-chat-model")
        assert parent_of(chat, trace_spans) is root
        assert event(root, "ragtel.query")["ragtel.response"] == ANSWER


def test_batch_and_stream_also_make_well_formed_traces(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    chain = rag_chain(store)
    ragtel_spans.clear()
    assert chain.batch([QUESTION, "When is shipping free?"]) == [ANSWER, ANSWER]
    assert "".join(chain.stream(QUESTION)) == ANSWER
    traces: dict[int, list[ReadableSpan]] = {}
    for span in ragtel_spans.spans:
        traces.setdefault(span.context.trace_id, []).append(span)
    assert len(traces) == 3
    for trace_spans in traces.values():
        assert_one_trace_ended_once(trace_spans)
        retrieval = only(trace_spans, "retrieval VectorStoreRetriever")
        assert event(retrieval, "ragtel.retrieval")["ragtel.chunk.count"] == 2
    assert instrumentor._handler is not None and len(instrumentor._handler.runs) == 0


def test_the_run_map_is_bounded_and_ends_what_it_drops(
    ragtel_spans: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    import uuid

    tracer = ragtel_spans.tracer()
    runs = OpenRuns(limit=2)
    ids = [uuid.uuid4() for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="ragtel"):
        for index, run_id in enumerate(ids):
            runs.add(run_id, Run(tracer.start_span(f"run {index}"), "chain", is_root=True))
    assert len(runs) == 2 and runs.pop(ids[0]) is None  # the oldest was dropped...
    assert [span.name for span in ragtel_spans.spans] == ["run 0"]  # ...and its span ended
    assert "more than 2 LangChain runs" in caplog.text


# Subclasses, idempotence, uninstrument ---------------------------------------------------------


def test_embedding_models_defined_later_are_recorded_once_per_call(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    class Keyword(Embeddings):
        model = "keyword-v1"

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[float("refund" in text), float(len(text))] for text in texts]

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]  # re-enters: recorded once

    assert Keyword().embed_query(QUESTION) == [1.0, float(len(QUESTION))]
    assert asyncio.run(Keyword().aembed_documents(["a", "b"])) == [[0.0, 1.0], [0.0, 1.0]]
    query, documents = ragtel_spans.spans
    assert query.name == documents.name == "embeddings keyword-v1"
    assert event(query, "ragtel.embedding")["ragtel.embedding.count"] == 1
    assert params_of(query)["query.embedding_model"] == "keyword-v1"
    assert event(documents, "ragtel.embedding")["ragtel.embedding.count"] == 2
    assert params_of(documents)["embedding.model"] == "keyword-v1"


def test_instrument_twice_records_each_run_once(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)  # a no-op
    _ScoredRetriever().invoke(QUESTION)
    assert [span.name for span in ragtel_spans.spans] == ["retrieval _ScoredRetriever"]


def test_nothing_is_recorded_inside_suppress_instrumentation(
    ragtel_spans: SpanRecorder, instrumentor: LangChainInstrumentor
) -> None:
    store = ingest()
    ragtel_spans.clear()
    with suppress_instrumentation():
        assert rag_chain(store).invoke(QUESTION) == ANSWER
        RecursiveCharacterTextSplitter(chunk_size=40, chunk_overlap=0).split_text(HANDBOOK)
    assert ragtel_spans.spans == []
    assert instrumentor._handler is not None and len(instrumentor._handler.runs) == 0
    rag_chain(store).invoke(QUESTION)  # and again once out of it
    assert len(ragtel_spans.spans) == 10


def test_content_capture_off_keeps_the_structure_and_drops_the_texts(
    ragtel_spans: SpanRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGTEL_CAPTURE_CONTENT", "false")
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    try:
        store = ingest()
        ragtel_spans.clear()
        rag_chain(store).invoke(QUESTION)
    finally:
        instrumentor.uninstrument()
    spans = ragtel_spans.spans
    retrieved = event(only(spans, "retrieval VectorStoreRetriever"), "ragtel.retrieval")
    assert retrieved["ragtel.chunk.count"] == 2 and "ragtel.chunk.contents" not in retrieved
    chat = only(spans, "chat generic-fake-chat-model").attributes or {}
    assert "ragtel.input" not in chat and "ragtel.output" not in chat
    assert chat["gen_ai.usage.output_tokens"] == 5


def test_uninstrument_takes_everything_off_and_records_nothing_more(
    ragtel_spans: SpanRecorder,
) -> None:
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)

    class DefinedWhileInstrumented(DeterministicFakeEmbedding):
        def embed_query(self, text: str) -> list[float]:
            return super().embed_query(text)

    assert "__init_subclass__" in Embeddings.__dict__
    assert DefinedWhileInstrumented.__dict__["embed_query"] is not None
    instrumentor.uninstrument()
    instrumentor.uninstrument()  # a no-op

    for (owner, name), original in ORIGINALS.items():
        assert owner.__dict__[name] is original, (owner, name)
    assert "__init_subclass__" not in Embeddings.__dict__
    assert "__init_subclass__" not in TextSplitter.__dict__
    assert "__init_subclass__" not in VectorStore.__dict__
    assert not hasattr(DefinedWhileInstrumented.__dict__["embed_query"], "__wrapped__")

    class DefinedAfter(DeterministicFakeEmbedding):
        def embed_query(self, text: str) -> list[float]:
            return super().embed_query(text)

    assert not hasattr(DefinedAfter.__dict__["embed_query"], "__wrapped__")
    store = ingest()
    assert rag_chain(store).invoke(QUESTION) == ANSWER
    DefinedWhileInstrumented(size=4).embed_query(QUESTION)
    DefinedAfter(size=4).embed_query(QUESTION)
    assert ragtel_spans.spans == []
    assert CallbackManager.configure(None, None).handlers == []


# Beside OpenInference's LangChain instrumentor ------------------------------------------------

PEER_SCOPE = "openinference.instrumentation.langchain"


class _RagtelKeysOfPeerSpans:
    """The live semantic-convention check, holding the peer's spans to ragtel's keys only.

    The peer's own attributes (``llm.*``, ``input.value``...) are its convention;
    any ``ragtel.*`` or ``gen_ai.*`` key on its spans must still be declared.
    """

    def __init__(self, checker: Checker) -> None:
        self.checker = checker

    def check_span(self, span: ReadableSpan) -> None:
        if span.instrumentation_scope is None or span.instrumentation_scope.name != PEER_SCOPE:
            self.checker.check_span(span)
            return
        ragtel_keys = {
            k: v for k, v in (span.attributes or {}).items() if k.startswith(("ragtel.", "gen_ai."))
        }
        self.checker.check_attributes(f"peer span {span.name!r}", ragtel_keys)
        for peer_event in span.events:
            self.checker.check_event(
                f"peer span {span.name!r} event {peer_event.name!r}",
                peer_event.name,
                dict(peer_event.attributes or {}),
            )


@pytest.fixture
def openinference(ragtel_spans: SpanRecorder) -> Iterator[Any]:
    peer_module = pytest.importorskip(
        "openinference.instrumentation.langchain",
        reason="openinference-instrumentation-langchain is not installed",
    )
    # The provider's live check is in the SDK's processor list; it has no public accessor.
    for processor in ragtel_spans.provider._active_span_processor._span_processors:
        if isinstance(processor, LiveCheck):
            processor.checker = _RagtelKeysOfPeerSpans(processor.checker)  # type: ignore[assignment]
    peer = peer_module.LangChainInstrumentor()
    try:
        yield peer
    finally:
        peer.uninstrument()


@pytest.mark.parametrize("ragtel_first", [True, False], ids=["ragtel-first", "openinference-first"])
def test_beside_openinference_each_run_has_one_span_which_ragtel_enriches(
    ragtel_spans: SpanRecorder, openinference: Any, ragtel_first: bool
) -> None:
    ragtel = LangChainInstrumentor()
    order = [ragtel, openinference] if ragtel_first else [openinference, ragtel]
    try:
        for instrumentor in order:
            instrumentor.instrument(tracer_provider=ragtel_spans.provider)
        store = ingest()
        ragtel_spans.clear()
        assert rag_chain(store).invoke(QUESTION) == ANSWER
        spans = ragtel_spans.spans
        root = assert_one_trace_ended_once(spans)

        # Every run has the peer's span, and only that one; ragtel adds the embedding
        # call, which LangChain reports to no callback.
        ours = [s for s in spans if s.instrumentation_scope.name != PEER_SCOPE]
        assert [s.name for s in ours] == ["embeddings DeterministicFakeEmbedding"]
        kinds = [s.attributes.get("openinference.span.kind") for s in spans if s not in ours]
        assert kinds.count("LLM") == 1 and kinds.count("RETRIEVER") == 1

        # ragtel's events and params are on the peer's spans.
        (llm,) = [s for s in spans if s.attributes.get("openinference.span.kind") == "LLM"]
        assert llm.attributes["gen_ai.request.model"] == "generic-fake-chat-model"
        assert llm.attributes["gen_ai.usage.output_tokens"] == 5
        (retriever,) = [
            s for s in spans if s.attributes.get("openinference.span.kind") == "RETRIEVER"
        ]
        assert event(retriever, "ragtel.retrieval")["ragtel.chunk.count"] == 2
        assert event(root, "ragtel.query")["ragtel.response"] == ANSWER
        params = params_of(root)
        assert params["retrieval.top_k"] == 2
        assert params["generation.model"] == "generic-fake-chat-model"
        assert params["ingestion.chunk_size"] == CHUNK_SIZE

        # The peer switched off, ragtel makes the runs' spans again.
        openinference.uninstrument()
        ragtel_spans.clear()
        rag_chain(store).invoke(QUESTION)
        names = [s.name for s in ragtel_spans.spans]
        assert "retrieval VectorStoreRetriever" in names and "chat generic-fake-chat-model" in names
    finally:
        ragtel.uninstrument()
