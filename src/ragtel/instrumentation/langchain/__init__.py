"""``LangChainInstrumentor``: LangChain pipelines traced, with their ParamSet, without code.

::

    from ragtel.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument(tracer_provider=provider)

Every LangChain callback manager gets ragtel's handler, so each run of a
chain, chat model, LLM, retriever or tool is a span in one tree per call:

* chat models and LLMs: a CLIENT span ``chat <model>`` recorded with
  ``log_llm_call``; the model and its settings (temperature, max_tokens...)
  join the ParamSet as ``generation.<setting>``;
* retrievers: a span ``retrieval <name>`` with a ``ragtel.retrieval`` event
  (document ids, contents, metadata, and scores where the vector store gave
  them), and ``retrieval.top_k``;
* tools: a span ``execute_tool <name>`` with a ``ragtel.tool_call`` event;
* chains: a span per run; the outermost one also gets a ``ragtel.query``
  event when its input and output are texts.

What LangChain reports through no callback is wrapped directly: embedding
models (a CLIENT span ``embeddings <model>`` with a ``ragtel.embedding``
event; ``embedding.model`` or ``query.embedding_model``), text splitters
(a ``ragtel.chunking`` event per text; ``ingestion.chunk_size``,
``ingestion.chunk_overlap``, ``ingestion.chunk_strategy``) and the scores of
vector store searches.

Beside OpenInference's or OpenLLMetry's LangChain instrumentor, which make a
span of each run themselves, ragtel makes none for runs: it records its
events and params on their spans, so no run gets two spans.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation._base import Patches, RagtelInstrumentor

if TYPE_CHECKING:
    from ragtel.instrumentation.langchain.handler import RagtelCallbackHandler

__all__ = ["LangChainInstrumentor"]

_SUPPORTED = ("langchain-core >= 0.3, < 2",)


class LangChainInstrumentor(RagtelInstrumentor):
    """Records LangChain runs, embeddings and text splitting as spans with RAG events and params."""

    scope_name = __name__  # "ragtel.instrumentation.langchain"

    _handler: RagtelCallbackHandler | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _SUPPORTED

    def _patch(self, tracer: LastMileTracer, patches: Patches, **kwargs: Any) -> None:
        # LangChain is imported here only: listing the instrumentor costs nothing.
        from ragtel.instrumentation.langchain.embeddings import instrument_embeddings
        from ragtel.instrumentation.langchain.entry_points import instrument_entry_points
        from ragtel.instrumentation.langchain.handler import RagtelCallbackHandler
        from ragtel.instrumentation.langchain.splitters import instrument_text_splitters
        from ragtel.instrumentation.langchain.vectorstores import instrument_vector_stores

        handler = RagtelCallbackHandler(tracer)
        self._handler = handler
        instrument_entry_points(handler, patches)
        instrument_embeddings(tracer, patches)
        instrument_vector_stores(patches)
        instrument_text_splitters(tracer, patches)

    def _unpatch(self) -> None:
        handler, self._handler = self._handler, None
        if handler is not None:
            # Callback managers made before keep it: it records no new runs,
            # but still ends the spans of runs in progress.
            handler.enabled = False
