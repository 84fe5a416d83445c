"""The demo pipeline, traced as an application would: one trace per ingestion and per query.

Ingestion (once per chunk size) and querying (once per chunk size, top_k and
question) are separate flows, each with its own tracer, so every trace root
says which flow it is. The swept settings and the fixed ones are registered
on each trace's ParamSet, which is what ``ragtel report --by`` groups by.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from ragtel._documents import Chunk, Document, RetrievedChunk
from ragtel._factory import get_lastmile_tracer
from ragtel._sdk.provider import span_limits
from ragtel._tracer import LastMileTracer
from ragtel.cli.demo.pipeline import (
    EMBEDDING_DIMENSIONS,
    Bm25Index,
    ScoredChunk,
    SourceDocument,
    TextChunk,
    UnansweredQuestion,
    chunk_document,
    compose_answer,
    count_words,
    fit_context,
    load_corpus,
    rerank,
    rewrite_query,
    terms,
)
from ragtel.cli.demo.questions import QUESTIONS, Question

CHUNK_SIZES: Final = (40, 100, 250)
TOP_KS: Final = (1, 3, 5)
CHUNK_OVERLAP: Final = 8
CONTEXT_WINDOW_WORDS: Final = 400

APP_NAME: Final = "driftnote-help"
PROJECT_NAME: Final = "driftnote-help-demo"
EMBEDDING_MODEL: Final = "hashed-bag-of-words"
RERANK_MODEL: Final = "term-coverage"
ANSWER_MODEL: Final = "template-answerer"

INGESTION_PARAMS: Final = {
    "ingestion.chunk_overlap": CHUNK_OVERLAP,
    "ingestion.chunk_strategy": "words",
    "embedding.model": EMBEDDING_MODEL,
    "embedding.dimensions": EMBEDDING_DIMENSIONS,
}
QUERY_PARAMS: Final = {
    "retrieval.retriever": "bm25",
    "rerank.model": RERANK_MODEL,
    "generation.model": ANSWER_MODEL,
    "generation.context_window": CONTEXT_WINDOW_WORDS,
}
SYSTEM_PROMPT: Final = (
    "You answer questions about Driftnote using only the help-centre passages given."
)

# The answerer pretends to be a model: its time grows with what it reads.
_BASE_LATENCY_SECONDS = 0.002
_LATENCY_PER_CONTEXT_WORD = 0.00004


@dataclass
class QueryRecord:
    """One answered (or failed) question, kept to judge it later."""

    question: Question
    chunk_size: int
    top_k: int
    trace_context: str | None = None
    context: list[str] = field(default_factory=list)
    answer: str | None = None
    error: str | None = None


@dataclass
class SweepResult:
    ingestion_traces: int
    queries: list[QueryRecord]

    @property
    def failed_queries(self) -> int:
        return sum(1 for record in self.queries if record.error is not None)


class DemoTracers:
    """The ingestion and query tracers, on a provider that writes only to ``path``."""

    def __init__(self, path: str) -> None:
        # A provider of its own, sampling everything: a sampler that OTEL_TRACES_SAMPLER
        # sets for the user's apps must not thin out the sweep.
        self._provider = TracerProvider(
            sampler=ALWAYS_ON,
            resource=Resource.create({SERVICE_NAME: APP_NAME}),
            span_limits=span_limits(),
        )
        self.ingestion = self._tracer("ingestion", path)
        self.query = self._tracer("query", path)

    def _tracer(self, flow: str, path: str) -> LastMileTracer:
        return get_lastmile_tracer(
            f"{APP_NAME}.{flow}",
            project_name=PROJECT_NAME,
            output_filepath=path,
            rag_flow_type=flow,
            tracer_provider=self._provider,
        )

    def flush(self) -> None:
        self.query.force_flush()

    def close(self) -> int:
        """Flush, stop exporting, and return how many spans could not be written."""
        self.query.force_flush()
        self.query.shutdown()
        self._provider.shutdown()
        return self.query.dropped_span_count()


def run_sweep(tracers: DemoTracers) -> SweepResult:
    """Ingest the corpus per chunk size, then ask every question with every top_k."""
    documents = load_corpus()
    queries: list[QueryRecord] = []
    for chunk_size in CHUNK_SIZES:
        index = ingest(tracers.ingestion, documents, chunk_size)
        for top_k in TOP_KS:
            queries.extend(
                answer_question(tracers.query, index, question, chunk_size, top_k)
                for question in QUESTIONS
            )
    return SweepResult(ingestion_traces=len(CHUNK_SIZES), queries=queries)


# Ingestion ---------------------------------------------------------------------


def ingest(tracer: LastMileTracer, documents: list[SourceDocument], chunk_size: int) -> Bm25Index:
    with tracer.start_as_current_span("ingest_help_centre"):
        tracer.register_ingestion_chunk_size(chunk_size)
        tracer.register_params(INGESTION_PARAMS)
        chunks = [chunk for document in documents for chunk in _chunk(tracer, document, chunk_size)]
        _embed(tracer, chunks)
        with tracer.start_as_current_span("build_bm25_index"):
            return Bm25Index(chunks)


def _chunk(tracer: LastMileTracer, document: SourceDocument, chunk_size: int) -> list[TextChunk]:
    with tracer.start_as_current_span("chunk_document"):
        chunks = chunk_document(document, chunk_size, CHUNK_OVERLAP)
        tracer.log_chunking_event(
            Document(document.id, name=document.title, content=document.text),
            [Chunk(chunk.id, chunk.text) for chunk in chunks],
            metadata={"chunk_size": chunk_size, "overlap": CHUNK_OVERLAP},
        )
        return chunks


def _embed(tracer: LastMileTracer, chunks: list[TextChunk]) -> None:
    # The vectors were computed with the chunks; this step is where an app
    # would call its embedding model, so that is where the event goes.
    with tracer.start_as_current_span("embed_chunks"):
        tracer.log_embedding_event(
            [list(chunk.vector) for chunk in chunks],
            data=[chunk.text for chunk in chunks],
            metadata={"model": EMBEDDING_MODEL},
        )


# Querying ----------------------------------------------------------------------


def answer_question(
    tracer: LastMileTracer, index: Bm25Index, question: Question, chunk_size: int, top_k: int
) -> QueryRecord:
    """One query trace; a question the corpus cannot answer fails it, and is recorded."""
    record = QueryRecord(question, chunk_size, top_k)
    try:
        with tracer.start_as_current_span("answer_question"):
            # Handed back with the answer, as a web app would, for feedback to find the trace.
            record.trace_context = tracer.serialize_span_context()
            tracer.register_ingestion_chunk_size(chunk_size)
            tracer.register_retrieval_top_k(top_k)
            tracer.register_params({**INGESTION_PARAMS, **QUERY_PARAMS})
            tracer.record_input(question.text)
            query = _rewrite(tracer, question.text)
            reranked = _rerank(tracer, query, _retrieve(tracer, index, query, top_k))
            record.context = fit_context(
                [item.chunk.text for item in reranked], CONTEXT_WINDOW_WORDS
            )
            record.answer = _generate(tracer, index, question.text, query, record.context)
            tracer.log_query_event(question.text, record.answer, system_prompt=SYSTEM_PROMPT)
            tracer.record_output(record.answer)
    except UnansweredQuestion as error:
        record.error = str(error)
    return record


def _rewrite(tracer: LastMileTracer, question: str) -> str:
    with tracer.start_as_current_span("rewrite_query"):
        query = rewrite_query(question)
        tracer.log_query_rewrite_event(question, query)
        return query


def _retrieve(
    tracer: LastMileTracer, index: Bm25Index, query: str, top_k: int
) -> list[ScoredChunk]:
    with tracer.start_as_current_span("retrieve"):
        retrieved = index.search(terms(query), top_k)
        tracer.log_retrieval_event(
            query, _scored(retrieved), metadata={"retriever": "bm25", "top_k": top_k}
        )
        return retrieved


def _rerank(tracer: LastMileTracer, query: str, retrieved: list[ScoredChunk]) -> list[ScoredChunk]:
    with tracer.start_as_current_span("rerank"):
        reranked = rerank(terms(query), retrieved)
        tracer.log_rerank_event(
            _scored(retrieved), _scored(reranked), metadata={"model": RERANK_MODEL, "query": query}
        )
        return reranked


def _generate(
    tracer: LastMileTracer, index: Bm25Index, question: str, query: str, context: list[str]
) -> str:
    with tracer.start_as_current_span("generate_answer"):
        started = time.perf_counter()
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _prompt(question, context)},
        ]
        time.sleep(_model_latency(context))
        text = compose_answer(index, terms(query), context)
        tracer.log_llm_call(
            model=ANSWER_MODEL,
            messages=messages,
            output=text,
            finish_reason="stop",
            input_tokens=sum(count_words(message["content"]) for message in messages),
            output_tokens=count_words(text),
            latency=time.perf_counter() - started,
        )
        return text


def _prompt(question: str, context: list[str]) -> str:
    passages = "\n".join(f"[{number}] {text}" for number, text in enumerate(context, start=1))
    return f"Passages:\n{passages}\n\nQuestion: {question}"


def _model_latency(context: list[str]) -> float:
    words = sum(count_words(text) for text in context)
    return _BASE_LATENCY_SECONDS + _LATENCY_PER_CONTEXT_WORD * words


def _scored(items: list[ScoredChunk]) -> list[RetrievedChunk]:
    return [
        RetrievedChunk(item.chunk.id, item.chunk.text, retrieval_score=item.score) for item in items
    ]
