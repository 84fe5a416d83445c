"""ragtel's bookkeeping of LlamaIndex spans: what each one is, and a bounded map of the open ones.

LlamaIndex announces its spans by id (``"RetrieverQueryEngine.query-<uuid4>"``)
and sends their events with that id. :class:`OpenSpans` maps each open id to
its :class:`OpenSpan` — the OpenTelemetry span and what ragtel learnt of the
call so far — and holds at most :data:`MAX_OPEN_SPANS` of them, so spans that
LlamaIndex never closes (a stream nobody reads) cannot grow it without limit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.node_parser.interface import NodeParser
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from ragtel.instrumentation.llama_index.values import model_name

MAX_OPEN_SPANS: Final = 10_000
"""Open LlamaIndex spans ragtel tracks at once; past it the oldest is ended and forgotten."""

MAX_STREAM_TEXT: Final = 100_000
"""Characters of a streamed LLM answer kept to record it (ragtel caps what it records anyway)."""

_CHAT_METHODS: Final = frozenset({"chat", "achat", "stream_chat", "astream_chat"})
_COMPLETION_METHODS: Final = frozenset(
    {"complete", "acomplete", "stream_complete", "astream_complete"}
)
_EMBEDDING_METHODS: Final = frozenset(
    {
        "get_query_embedding",
        "aget_query_embedding",
        "get_text_embedding",
        "aget_text_embedding",
        "get_text_embedding_batch",
        "aget_text_embedding_batch",
    }
)


class Role(Enum):
    """What a LlamaIndex span is, as far as ragtel's recording goes."""

    LLM_CALL = "llm_call"
    """A chat or completion call: a CLIENT span ``"{operation} {model}"`` carrying the call."""
    EMBEDDING_CALL = "embedding_call"
    """An embedding call: a CLIENT span ``"embeddings {model}"``."""
    INNER_CALL = "inner_call"
    """A model method called by another method of the same object (``acomplete`` running
    ``complete``): part of the outer call, which alone records it."""
    PARSE_NODES = "parse_nodes"
    """A node parser splitting documents: records the chunking."""
    POSTPROCESS = "postprocess"
    """A node postprocessor (reranker, filter): records the rerank."""
    OTHER = "other"


@dataclass(frozen=True)
class LLMRequest:
    """What an LLM start event told of the call."""

    messages: list[dict[str, Any]] | None
    prompt: str | None
    call_kwargs: Mapping[str, Any]


class StreamedText:
    """The pieces of a streamed answer, up to :data:`MAX_STREAM_TEXT` characters."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._length = 0

    def add(self, piece: str | None) -> None:
        if piece and self._length < MAX_STREAM_TEXT:
            self._pieces.append(piece)
            self._length += len(piece)

    def text(self) -> str | None:
        """The answer so far; None when nothing was streamed."""
        return "".join(self._pieces)[:MAX_STREAM_TEXT] if self._pieces else None


@dataclass(eq=False)
class OpenSpan:
    """One open LlamaIndex span and what ragtel learnt of it so far."""

    span: Span | None
    """The OpenTelemetry span; None while ragtel steps aside for another instrumentation."""
    role: Role
    instance: Any
    parent: OpenSpan | None
    model: str | None = None
    operation: str | None = None
    context_token: Token[Context] | None = None
    entered_token: Token[str | None] | None = None
    llm_request: LLMRequest | None = None
    llm_answered: bool = False
    stream: StreamedText = field(default_factory=StreamedText)
    rerank_model: str | None = None
    rerank_top_n: int | None = None
    rerank_query: str | None = None
    exited: bool = False
    """LlamaIndex left the span while its LLM stream is still being read."""


# Set after each span is made current: resetting it tells whether a span exit runs in
# the context its enter ran in (LlamaIndex ends a span returning a Future in a callback,
# in a copy of that context, where the OpenTelemetry context cannot be detached).
ENTERED_SPAN: ContextVar[str | None] = ContextVar("ragtel_llama_index_entered_span", default=None)


def classify(instance: Any, method: str, parent: OpenSpan | None) -> Role:
    """The role of a span opened for ``instance.method`` under ``parent``."""
    if isinstance(instance, BaseLLM) and method in _CHAT_METHODS | _COMPLETION_METHODS:
        return Role.INNER_CALL if _inside_call_of(instance, parent) else Role.LLM_CALL
    if isinstance(instance, BaseEmbedding) and method in _EMBEDDING_METHODS:
        return Role.INNER_CALL if _inside_call_of(instance, parent) else Role.EMBEDDING_CALL
    if isinstance(instance, NodeParser) and method == "_parse_nodes":
        return Role.PARSE_NODES
    if isinstance(instance, BaseNodePostprocessor) and method == "_postprocess_nodes":
        return Role.POSTPROCESS
    return Role.OTHER


def _inside_call_of(instance: Any, parent: OpenSpan | None) -> bool:
    ancestor = parent
    while ancestor is not None:
        if ancestor.instance is instance and ancestor.role in (
            Role.LLM_CALL,
            Role.EMBEDDING_CALL,
            Role.INNER_CALL,
        ):
            return True
        ancestor = ancestor.parent
    return False


@dataclass(frozen=True)
class SpanStart:
    """How to start the OpenTelemetry span of a LlamaIndex span."""

    name: str
    kind: SpanKind
    model: str | None = None
    operation: str | None = None


def span_start(role: Role, instance: Any, qualified_name: str, method: str) -> SpanStart:
    """Model calls follow the GenAI naming, ``"{operation} {model}"`` (CLIENT spans); every
    other span keeps LlamaIndex's own name, ``"Class.method"``."""
    if role is Role.LLM_CALL:
        operation = "chat" if method in _CHAT_METHODS else "text_completion"
        model = model_name(instance)
        return SpanStart(f"{operation} {model}", SpanKind.CLIENT, model, operation)
    if role is Role.EMBEDDING_CALL:
        model = model_name(instance)
        return SpanStart(f"embeddings {model}", SpanKind.CLIENT, model, "embeddings")
    return SpanStart(qualified_name, SpanKind.INTERNAL)


class OpenSpans:
    """The open LlamaIndex spans by id, at most ``limit`` of them (oldest out first).

    Every span is taken out exactly once — by its exit, the end of its stream,
    eviction or :meth:`drain` — and whoever takes it out ends it.
    """

    def __init__(self, limit: int = MAX_OPEN_SPANS) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._spans: dict[str, OpenSpan] = {}
        self.evicted_count = 0

    def add(self, span_id: str, record: OpenSpan) -> list[OpenSpan]:
        """Track ``record``; returns the records evicted to make room (the caller ends them)."""
        evicted = []
        with self._lock:
            while len(self._spans) >= self._limit:
                oldest = next(iter(self._spans))
                evicted.append(self._spans.pop(oldest))
            self._spans[span_id] = record
            self.evicted_count += len(evicted)
        return evicted

    def get(self, span_id: str | None) -> OpenSpan | None:
        if span_id is None:
            return None
        with self._lock:
            return self._spans.get(span_id)

    def pop(self, span_id: str) -> OpenSpan | None:
        with self._lock:
            return self._spans.pop(span_id, None)

    def pop_if(self, span_id: str, record: OpenSpan) -> bool:
        """Take ``record`` out if it is still the one tracked under ``span_id``."""
        with self._lock:
            if self._spans.get(span_id) is not record:
                return False
            del self._spans[span_id]
            return True

    def drain(self) -> list[OpenSpan]:
        with self._lock:
            records = list(self._spans.values())
            self._spans.clear()
        return records

    def __len__(self) -> int:
        with self._lock:
            return len(self._spans)
