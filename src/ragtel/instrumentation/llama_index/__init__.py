"""``LlamaIndexInstrumentor``: LlamaIndex (``llama-index-core``) traced through its own dispatcher.

::

    from ragtel.instrumentation import LlamaIndexInstrumentor

    LlamaIndexInstrumentor().instrument(tracer_provider=provider)
    index = VectorStoreIndex.from_documents(documents)   # one trace: chunking, embeddings
    index.as_query_engine(similarity_top_k=3).query("How long do refunds take?")

It adds a span handler and an event handler to LlamaIndex's root
instrumentation dispatcher (``uninstrument()`` takes exactly these two off
again), and wraps ``BaseIndex.from_documents``:

* every LlamaIndex span becomes an OpenTelemetry span with its parent, so a
  query is one trace (``RetrieverQueryEngine.query`` > ``…retrieve`` >
  ``embeddings <model>``…); chat and completion calls are CLIENT spans
  ``"chat <model>"`` / ``"text_completion <model>"``, embedding calls
  ``"embeddings <model>"``; a failed call has ERROR status and its exception;
* ragtel's events on them: retrieval (ids, scores, contents), rerank (any
  node postprocessor that reorders or filters nodes), embedding, chunking
  (node parsers: per document, its chunks), query (the query and the
  answer), synthesis, and each LLM call (model, messages or prompt, output,
  token usage when the integration reports it);
* the trace's ParamSet: ``ingestion.chunk_size``, ``ingestion.chunk_overlap``,
  ``ingestion.chunk_strategy``, ``embedding.model``, ``embedding.dimensions``,
  ``retrieval.top_k``, ``retrieval.retriever``, ``retrieval.reranking_model``,
  ``retrieval.rerank_top_n``, ``retrieval.similarity_cutoff`` and
  ``generation.<setting>`` (model, temperature, max_tokens…).

When OpenInference's or OpenLLMetry's LlamaIndex instrumentor is also
active, ragtel steps aside: it creates no spans (so none is duplicated) and
keeps only the ParamSet, on the spans the other instrumentor makes.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import partial
from typing import TYPE_CHECKING, Any

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation._base import Patches, RagtelInstrumentor

if TYPE_CHECKING:
    from llama_index_instrumentation.dispatcher import Dispatcher

    from ragtel.instrumentation.llama_index.handlers import (
        RagtelEventHandler,
        RagtelSpanHandler,
    )
    from ragtel.instrumentation.llama_index.lifecycle import LlamaIndexRecorder

__all__ = ["LlamaIndexInstrumentor"]

_SUPPORTED = ("llama-index-core >= 0.12, < 0.15",)


class LlamaIndexInstrumentor(RagtelInstrumentor):
    """Records LlamaIndex's spans, RAG steps and settings (see the module documentation)."""

    scope_name = __name__  # "ragtel.instrumentation.llama_index"

    _installed: (
        tuple[Dispatcher, RagtelSpanHandler, RagtelEventHandler, LlamaIndexRecorder] | None
    ) = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _SUPPORTED

    def _patch(self, tracer: LastMileTracer, patches: Patches, **kwargs: Any) -> None:
        # LlamaIndex loads only now: listing ragtel's instrumentors must not import it.
        from llama_index.core.indices.base import BaseIndex

        # LlamaIndex's documented entry point, re-exported without an explicit export.
        from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]

        from ragtel.instrumentation.llama_index.handlers import (
            RagtelEventHandler,
            RagtelSpanHandler,
            index_construction,
            other_tracing_handler,
        )
        from ragtel.instrumentation.llama_index.lifecycle import LlamaIndexRecorder

        dispatcher = get_dispatcher()  # the root: every module's dispatcher reports to it
        steps_aside = partial(other_tracing_handler, dispatcher)
        recorder = LlamaIndexRecorder(tracer, steps_aside=steps_aside)
        span_handler, event_handler = RagtelSpanHandler(recorder), RagtelEventHandler(recorder)
        dispatcher.add_span_handler(span_handler)
        dispatcher.add_event_handler(event_handler)
        self._installed = (dispatcher, span_handler, event_handler, recorder)
        patches.wrap(BaseIndex, "from_documents", index_construction(tracer, steps_aside))

    def _unpatch(self) -> None:
        installed, self._installed = self._installed, None
        if installed is None:
            return
        from ragtel.instrumentation.llama_index.handlers import remove_handlers

        dispatcher, span_handler, event_handler, recorder = installed
        remove_handlers(dispatcher, span_handler, event_handler)
        recorder.close()
