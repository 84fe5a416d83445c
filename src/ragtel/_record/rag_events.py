"""The RAG event API of :class:`~ragtel.LastMileTracer`.

Each helper records one span event named for its kind (``ragtel.retrieval``,
``ragtel.rerank``...), with structured attributes, and labels the span with
its step kind (``ragtel.span.kind``) and the matching GenAI attributes.

Where the event goes: to ``span=``, else to the current span. With neither,
ragtel starts a short span of its own, ``ragtel.event``, records the event on
it and ends it, so nothing is lost. A span that does not record (sampled out,
or a no-op provider) makes every helper return at once, without checking or
encoding anything; so does a tracer whose own span would not record either
(``OTEL_SDK_DISABLED``, a no-op provider, an ``ALWAYS_OFF`` sampler).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span

from ragtel._config import CaptureConfig
from ragtel._context.handover import is_local_span
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._sdk.recording import recording_target
from ragtel._types import RAGEventType
from ragtel.semconv.spans import RAGTEL_EVENT_SPAN

if TYPE_CHECKING:
    from ragtel._attributes.rag import EventRecord


def _builders() -> Any:
    """The builders module, imported on first use: import ragtel stays cheap."""
    from ragtel._attributes import rag as _rag_attributes

    return _rag_attributes


class RagEventsAPI:
    """RAG event methods; mixed into LastMileTracer."""

    _capture: CaptureConfig
    _processor: RagtelSpanProcessor | None
    _reach: int

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> Span:  # provided by the tracer
        raise NotImplementedError

    # Trace and span events ------------------------------------------------------

    def log_trace_event(self, input: Any = None, output: Any = None, metadata: Any = None) -> None:
        """Record the input and output of the whole flow, once per trace, on its local root.

        A second call in the same trace raises ValueError naming the trace.

        Example::

            tracer.log_trace_event(input=question, output=answer)
        """
        current = recording_target(None, self._reach)
        if current is None:
            return  # nothing would record: no check, no encoding
        record = _builders().trace_event_record(
            input=input, output=output, metadata=metadata, capture=self._capture
        )
        if not is_local_span(current):
            self._record_on_own_span(record)
            return
        target = current
        processor = self._processor
        state = processor.state_for(current) if processor else None
        if state is not None and processor is not None:
            if not processor.claim_trace_event(state):
                raise ValueError(
                    f"trace {current.get_span_context().trace_id:032x} already has its trace "
                    "event: log_trace_event records one per trace"
                )
            target = state.root
        if target.is_recording():
            target.add_event(record.event_name, record.event_attributes)

    def log_span_event(
        self,
        input: Any = None,
        output: Any = None,
        event_data: Any = None,
        event_kind: RAGEventType | str = RAGEventType.CUSTOM,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a step's input, output and data, once per span.

        A second call for the same span raises ValueError naming the span.
        """
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().span_event_record(
            input=input,
            output=output,
            event_data=event_data,
            event_kind=event_kind,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record, once_per_span=True)

    # Kind-specific helpers --------------------------------------------------------

    def log_chunking_event(
        self,
        input_document: Any,
        output_chunks: Any,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a document split into chunks (ids, count, contents).

        Example::

            tracer.log_chunking_event(Document("doc-1"), [Chunk("c1", "text")])
        """
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().chunking_record(
            input_document=input_document,
            output_chunks=output_chunks,
            metadata=metadata,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record)

    def log_embedding_event(
        self,
        embeddings: Any,
        data: Any = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record computed embeddings: their count and dimension (vectors only when enabled)."""
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().embedding_record(
            embeddings=embeddings,
            data=data,
            metadata=metadata,
            name=name,
            capture=self._capture,
            record_vectors=self._capture.record_embeddings,
        )
        self._emit(target, record)

    def log_query_rewrite_event(
        self,
        query: str,
        rewritten_query: str | list[str],
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a query rewritten, or decomposed into sub-queries."""
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().query_rewrite_record(
            query=query,
            rewritten_query=rewritten_query,
            metadata=metadata,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record)

    def log_retrieval_event(
        self,
        query: str,
        retrieved_data: Any,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record the chunks retrieved for a query, with their ids and scores.

        Example::

            chunks = [RetrievedChunk("c7", text, retrieval_score=0.9)]
            tracer.log_retrieval_event("refunds?", chunks)
        """
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().retrieval_record(
            query=query,
            retrieved_data=retrieved_data,
            metadata=metadata,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record)

    def log_rerank_event(
        self,
        retrieved: Any,
        reranked: Any,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record retrieved chunks reordered; every reranked id must be among the retrieved."""
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().rerank_record(
            retrieved=retrieved,
            reranked=reranked,
            metadata=metadata,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record)

    def log_tool_call_event(
        self,
        tool: str,
        tool_args: Any,
        tool_result: Any,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a tool call: its name, arguments and result."""
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().tool_call_record(
            tool=tool,
            tool_args=tool_args,
            tool_result=tool_result,
            metadata=metadata,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record)

    def log_query_event(
        self,
        query: str,
        response: str | list[str],
        system_prompt: str | None = None,
        name: str | None = None,
        metadata: Any = None,
        span: Span | None = None,
    ) -> None:
        """Record a query answered: the query, the response and the system prompt."""
        target = recording_target(span, self._reach)
        if target is None:
            return  # nothing would record: no check, no encoding
        record = _builders().query_record(
            query=query,
            response=response,
            system_prompt=system_prompt,
            metadata=metadata,
            name=name,
            capture=self._capture,
        )
        self._emit(target, record)

    # Internals ------------------------------------------------------------------

    def _emit(self, target: Span, record: EventRecord, *, once_per_span: bool = False) -> None:
        """Record on ``target``, or on a span of its own when ``target`` does not record."""
        if not target.is_recording():
            self._record_on_own_span(record)
            return
        if once_per_span:
            self._claim_span_event(target)
        target.set_attributes(record.span_attributes)
        target.add_event(record.event_name, record.event_attributes)

    def _claim_span_event(self, span: Span) -> None:
        context = span.get_span_context()
        processor = self._processor
        state = processor.state_for(span) if processor is not None else None
        if state is None or processor is None:
            return
        if not processor.claim_span_event(state, context.span_id):
            name = getattr(span, "name", "")
            raise ValueError(
                f"span {name!r} ({context.span_id:016x}) already has its span event: "
                "log_span_event records one per span"
            )

    def _record_on_own_span(self, record: EventRecord) -> None:
        own = self.start_span(RAGTEL_EVENT_SPAN, attributes=record.span_attributes)
        try:
            own.add_event(record.event_name, record.event_attributes)
        finally:
            own.end()
