"""Overhead of ragtel's LangChain instrumentation on a retrieval-and-answer chain.

The chain is a small RAG pipeline made of LangChain's own offline parts:
an ``InMemoryVectorStore`` of :data:`CHUNKS` chunks embedded with
``DeterministicFakeEmbedding`` (:data:`DIMENSIONS` dimensions), its retriever
(``k`` = 2) formatting the context, a chat prompt, ``FakeListChatModel`` and
a string parser — retriever | format | prompt | model | parser, the question
passed alongside the context. One operation is one ``chain.invoke``.

Baseline: the chain with LangChain uninstrumented. Candidate: the same chain
after ``LangChainInstrumentor().instrument()``, recording ten spans per call
(the runs, the query embedding), the retrieval, embedding, LLM and query
events and the ParamSet, through ragtel's processor into an exporter that
discards them. Both sides run in one process on one provider; the
instrumentation is switched on before each candidate block and off after it,
outside the timed part, and the blocks alternate as everywhere in this
package. The chain's fake model answers at once, so the ratio compares the
instrumentation with LangChain's own work, not with a model's latency.

Time is the process's CPU time (all threads), not wall time: the chain's
``RunnableParallel`` runs its two branches in threads, and whenever both want
the GIL at once one of them waits for the interpreter's switch interval
(5 ms), which would make wall-time rounds bimodal on either side. CPU time
counts the work each side does, which is what the instrumentation adds.
The overhead per call, in microseconds, is printed after the run.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import ragtel
from benchmarks._timing import FULL, Benchmark, Pair

CHUNKS = 66
"""Chunks in the store: LangChain's RAG tutorial splits its blog post into about as many."""
CHUNK_CHARACTERS = 1_000
DIMENSIONS = 1_536
"""The size of OpenAI's ``text-embedding-3-small`` vectors, which that tutorial uses."""
TOP_K = 4
QUESTION = "How long do refunds take to reach my card?"

UNAVAILABLE = (
    None
    if importlib.util.find_spec("langchain_core") is not None
    else "langchain: langchain-core is not installed (`pip install ragtel[langchain]`)"
)


class _CountingExporter(SpanExporter):
    """Drops every span, counting them: the candidate must record, the baseline must not."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def build_chain() -> Any:
    """The retrieval-and-answer chain, over a store already filled."""
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough
    from langchain_core.vectorstores import InMemoryVectorStore

    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=DIMENSIONS))
    sentence = "Refunds for orders of kind {i} reach the card in {days} business days. "
    store.add_texts(
        [(sentence.format(i=i, days=i % 9 + 2) * 20)[:CHUNK_CHARACTERS] for i in range(CHUNKS)]
    )
    retriever = store.as_retriever(search_kwargs={"k": TOP_K})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from this context only:\n{context}"), ("human", "{question}")]
    )
    model = FakeListChatModel(responses=["Refunds reach the card within five business days."])

    def format_documents(documents: list[Any]) -> str:
        return "\n\n".join(document.page_content for document in documents)

    return (
        {
            "context": retriever | RunnableLambda(format_documents),
            "question": RunnablePassthrough(),
        }
        | prompt
        | model
        | StrOutputParser()
    )


def _prepare() -> Pair:
    from ragtel.instrumentation.langchain import LangChainInstrumentor

    exporter = _CountingExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # Adds ragtel's span processor to the provider, as instrument() would.
    ragtel.get_lastmile_tracer("ragtel-benchmark-langchain", tracer_provider=provider)
    instrumentor = LangChainInstrumentor()
    chain = build_chain()
    invoke = chain.invoke

    def run(loops: int) -> None:
        for _ in repeat(None, loops):
            invoke(QUESTION)

    def timed(loops: int) -> float:
        gc.collect()
        gc.disable()
        try:
            start = time.process_time_ns()
            run(loops)
            return (time.process_time_ns() - start) / loops
        finally:
            gc.enable()

    # Spans per call, and none once uninstrumented: checked before timing.
    instrumentor.instrument(tracer_provider=provider)
    run(20)
    before = exporter.count
    run(1)
    spans_per_call = exporter.count - before
    instrumentor.uninstrument()
    run(20)
    leaked = exporter.count - before - spans_per_call

    # One operation count for both sides: about one timed block of the slower side.
    instrumentor.instrument(tracer_provider=provider)
    per_call = timed(20)
    instrumentor.uninstrument()
    loops = max(1, round(FULL.block_seconds * 1e9 / per_call))
    times: dict[bool, list[float]] = {False: [], True: []}

    def measure(is_candidate: bool) -> float:
        if is_candidate:
            instrumentor.instrument(tracer_provider=provider)
        try:
            nanoseconds = timed(loops)
        finally:
            if is_candidate:
                instrumentor.uninstrument()
        times[is_candidate].append(nanoseconds)
        return nanoseconds

    def summary() -> tuple[str, bool]:
        overhead = statistics.median(times[True]) - statistics.median(times[False])
        detail = f"{overhead / 1000:.0f} µs of CPU per call, {spans_per_call} spans per call"
        if leaked:
            detail += f"; {leaked} spans after uninstrument()"
        print(f"  langchain overhead: {detail}", file=sys.stderr, flush=True)
        return detail, spans_per_call > 0 and leaked == 0

    def unused(loops: int) -> None:
        raise AssertionError("self-timed benchmark")

    return Pair(
        unused,
        unused,
        close=provider.shutdown,
        measure=measure,
        loops=loops,
        summary=summary,
    )


CHAIN = Benchmark(
    name=(
        f"langchain: RAG chain ({CHUNKS} chunks × {DIMENSIONS:,} dims, k={TOP_K}, fake chat "
        "model), CPU time instrumented vs not"
    ),
    target=1.10,
    prepare=_prepare,
)

BENCHMARKS = [CHAIN] if UNAVAILABLE is None else []
