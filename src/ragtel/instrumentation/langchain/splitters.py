"""Text splitters (``langchain-text-splitters``): chunking events and the chunking params.

A call of ``split_text``, ``create_documents`` or ``split_documents`` on a
``TextSplitter`` becomes a span ``<Splitter>.<method>`` with one
``ragtel.chunking`` event per text split (at most :data:`MAX_CHUNKING_EVENTS`),
and registers ``ingestion.chunk_size``, ``ingestion.chunk_strategy`` (the
splitter's class) and ``ingestion.chunk_overlap``. Only the outermost call
records: ``split_documents`` calls ``create_documents``, which calls
``split_text`` once per text; those inner calls only report the pieces.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind

from ragtel._tracer import LastMileTracer
from ragtel.instrumentation._base import Patches, Wrapper
from ragtel.instrumentation.langchain.documents import Source, chunking_inputs, source_of
from ragtel.instrumentation.langchain.spans import call_span, log_failure, outside_any_trace
from ragtel.instrumentation.langchain.subclasses import wrap_hierarchy

MAX_CHUNKING_EVENTS: Final = 100
"""Chunking events per call (one per text); the SDK keeps 128 events per span by default."""

_METHODS: Final = ("split_text", "create_documents", "split_documents")


@dataclass(slots=True)
class _Split:
    """The outermost split call in progress, and the texts split inside it."""

    splits: list[tuple[str, Sequence[str]]] = field(default_factory=list)
    collecting: bool = True
    """Whether the next ``split_text`` call reports its pieces (not one nested in it)."""


_SPLIT: Final[contextvars.ContextVar[_Split | None]] = contextvars.ContextVar(
    "ragtel_langchain_split", default=None
)


def instrument_text_splitters(tracer: LastMileTracer, patches: Patches) -> None:
    try:
        from langchain_text_splitters import TextSplitter
    except ImportError:  # an optional package: nothing to instrument
        return
    wrappers = {method: _wrapper(tracer, method) for method in _METHODS}
    wrap_hierarchy(TextSplitter, wrappers, patches)


def _wrapper(tracer: LastMileTracer, method: str) -> Wrapper:
    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        split = _SPLIT.get()
        if split is not None:
            return _nested_call(split, method, wrapped, args, kwargs)
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        split = _Split(collecting=method != "split_text")
        detached = outside_any_trace()
        token = _SPLIT.set(split)
        try:
            name = f"{type(instance).__name__}.{method}"
            with call_span(tracer, name, SpanKind.INTERNAL) as span:
                result = wrapped(*args, **kwargs)
                if method == "split_text":
                    split.splits.append((_argument(args, kwargs, 0, "text"), result))
                _record(tracer, span, instance, method, args, kwargs, split, result)
        finally:
            _SPLIT.reset(token)
        if detached and span is not None:
            _register(tracer, instance, None)
        return result

    return wrapper


def _nested_call(
    split: _Split,
    method: str,
    wrapped: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    if method != "split_text" or not split.collecting:
        return wrapped(*args, **kwargs)
    split.collecting = False  # a split_text calling super().split_text reports once
    try:
        result = wrapped(*args, **kwargs)
    finally:
        split.collecting = True
    split.splits.append((_argument(args, kwargs, 0, "text"), result))
    return result


def _record(
    tracer: LastMileTracer,
    span: Span | None,
    instance: Any,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    split: _Split,
    result: Any,
) -> None:
    if span is None or not span.is_recording():
        return
    _register(tracer, instance, span)
    try:
        sources, outputs = _sources_and_outputs(method, args, kwargs, result)
        inputs = chunking_inputs(split.splits, sources, outputs)
        for source, chunks in inputs[:MAX_CHUNKING_EVENTS]:
            tracer.log_chunking_event(source, chunks, span=span)
    except Exception:  # noqa: BLE001 - recording must never break the app
        log_failure(f"{type(instance).__name__}.{method}")


def _register(tracer: LastMileTracer, instance: Any, span: Span | None) -> None:
    """The splitter's settings in the ParamSet of ``span``'s trace (None: the current one's)."""
    try:
        overlap = getattr(instance, "_chunk_overlap", None)
        tracer.register_document_preprocess_params(
            chunk_size=getattr(instance, "_chunk_size", None),
            chunk_strategy=type(instance).__name__,
            extras={"ingestion.chunk_overlap": overlap} if overlap is not None else None,
            span=span,
            should_also_save_in_span=False,
        )
    except Exception:  # noqa: BLE001 - recording must never break the app
        log_failure(f"{type(instance).__name__} params")


def _sources_and_outputs(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
) -> tuple[list[Source] | None, Sequence[Any] | None]:
    if method == "split_text":
        return None, None
    if method == "create_documents":
        metadatas = _argument(args, kwargs, 1, "metadatas")
        sources: list[Source] | None = (
            [(None, metadata or {}) for metadata in metadatas]
            if isinstance(metadatas, Sequence)
            else None
        )
        return sources, result
    documents = _argument(args, kwargs, 0, "documents")
    # An iterator was used up by the call; only a sequence can be read again.
    if isinstance(documents, Sequence):
        return [source_of(document) for document in documents], result
    return None, result


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], position: int, name: str) -> Any:
    return args[position] if len(args) > position else kwargs.get(name)
