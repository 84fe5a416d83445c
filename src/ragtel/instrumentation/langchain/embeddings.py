"""Embedding calls: ``embed_documents``/``embed_query`` (and their async forms) of every model.

LangChain has no embedding callbacks, so each ``Embeddings`` subclass's
methods are wrapped (see ``subclasses``). A call becomes a CLIENT
span ``embeddings <model>`` with a ``ragtel.embedding`` event, and registers
the model in the trace's ParamSet: ``embedding.model`` and
``embedding.dimensions`` for documents, ``query.embedding_model`` and
``query.embedding_dimensions`` for a query. Only the outermost call records:
``embed_query`` often calls ``embed_documents``, and the async defaults run
the sync methods in a thread.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from typing import Any, Final

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation._base import Patches, Wrapper
from ragtel.instrumentation.langchain.spans import call_span, log_failure, outside_any_trace
from ragtel.instrumentation.langchain.subclasses import wrap_hierarchy

# Set while an embedding call is being recorded, so the calls it makes are not.
_EMBEDDING: Final = contextvars.ContextVar("ragtel_langchain_embedding", default=False)

_MODEL_ATTRIBUTES: Final = (
    "model",
    "model_name",
    "model_id",
    "deployment",
    "deployment_name",
    "repo_id",
)


def embedding_model_name(embeddings: Any) -> str:
    """The model an ``Embeddings`` object calls, else its class name (fakes name no model)."""
    for attribute in _MODEL_ATTRIBUTES:
        try:
            value = getattr(embeddings, attribute, None)
        except Exception:  # noqa: BLE001 - a property that fails names no model
            continue
        if isinstance(value, str) and value:
            return value
    return type(embeddings).__name__


def instrument_embeddings(tracer: LastMileTracer, patches: Patches) -> None:
    from langchain_core.embeddings import Embeddings

    documents = _Recorder(tracer, query=False)
    query = _Recorder(tracer, query=True)
    wrappers: dict[str, Wrapper] = {
        "embed_documents": documents.sync_wrapper,
        "embed_query": query.sync_wrapper,
        "aembed_documents": documents.async_wrapper,
        "aembed_query": query.async_wrapper,
    }
    wrap_hierarchy(Embeddings, wrappers, patches)


class _Recorder:
    """Records the embedding calls of one kind: documents or a query."""

    def __init__(self, tracer: LastMileTracer, *, query: bool) -> None:
        self._tracer = tracer
        self._query = query

    def sync_wrapper(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if _EMBEDDING.get() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        model = embedding_model_name(instance)
        detached = outside_any_trace()
        token = _EMBEDDING.set(True)
        try:
            with call_span(self._tracer, f"embeddings {model}", SpanKind.CLIENT) as span:
                result = wrapped(*args, **kwargs)
                dimensions = self._record(span, model, args, kwargs, result)
        finally:
            _EMBEDDING.reset(token)
        if detached and span is not None:
            self._register(model, dimensions, None)
        return result

    def async_wrapper(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Coroutine[Any, Any, Any]:
        if _EMBEDDING.get() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)  # type: ignore[no-any-return]
        coroutine = wrapped(*args, **kwargs)
        model = embedding_model_name(instance)

        async def recorded() -> Any:
            detached = outside_any_trace()
            token = _EMBEDDING.set(True)
            try:
                with call_span(self._tracer, f"embeddings {model}", SpanKind.CLIENT) as span:
                    result = await coroutine
                    dimensions = self._record(span, model, args, kwargs, result)
            finally:
                _EMBEDDING.reset(token)
            if detached and span is not None:
                self._register(model, dimensions, None)
            return result

        return recorded()

    def _record(
        self,
        span: Span | None,
        model: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any,
    ) -> int | None:
        """Record the call on its span; returns the vectors' dimension, if known."""
        if span is None or not span.is_recording():
            return None
        try:
            if self._query:
                text = args[0] if args else kwargs.get("text")
                vectors: list[Any] = [result]
                data: Any = [text]
            elif isinstance(result, (list, tuple)):  # never consume what the app gets back
                vectors = list(result)
                data = args[0] if args else kwargs.get("texts")
            else:
                return None
            dimensions = len(vectors[0]) if vectors and len(vectors[0]) else None
            texts = list(data) if isinstance(data, (list, tuple)) else None
            self._tracer.log_embedding_event(vectors, data=texts, span=span)
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure(f"embedding call of {model!r}")
            return None
        self._register(model, dimensions, span)
        return dimensions

    def _register(self, model: str, dimensions: int | None, span: Span | None) -> None:
        """The model in the ParamSet of ``span``'s trace, or with None, the current one's."""
        try:
            if self._query:
                self._tracer.register_query_processing_params(
                    embedding_model=model,
                    embedding_dimensions=dimensions,
                    span=span,
                    should_also_save_in_span=False,
                )
            else:
                self._tracer.register_embedding_params(
                    embedding_model=model,
                    embedding_dimensions=dimensions,
                    span=span,
                    should_also_save_in_span=False,
                )
        except Exception:  # noqa: BLE001 - recording must never break the app
            log_failure(f"embedding params of {model!r}")
