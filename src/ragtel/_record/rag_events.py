"""What the RAG event methods of :class:`~ragtel.LastMileTracer` do.

(Over 400 lines: one short recorder per event kind, ten of them, sharing the
private emit rules at the bottom; splitting them would expose those rules.)

Each helper records one span event named for its kind (``ragtel.retrieval``,
``ragtel.rerank``...), with structured attributes, and labels the span with
its step kind (``ragtel.span.kind``) and the matching GenAI attributes.

Where the event goes: to ``span=``, else to the current span. With neither,
ragtel starts a short span of its own, ``ragtel.event``, records the event on
it and ends it, so nothing is lost. A span that does not record (sampled out,
or a no-op provider) makes every helper return at once, without checking or
encoding anything; so does a tracer whose own span would not record either
(``OTEL_SDK_DISABLED``, a no-op provider, an ``ALWAYS_OFF`` sampler).

Each function takes the tracer's :class:`~ragtel._record.core.TracerCore`
first. The builders (``ragtel._attributes.rag``) are imported where first
used, so ``import ragtel`` stays cheap, as a module (``from ragtel._attributes
import rag as builders``): CPython finds a submodule of an imported package
about three times faster than a name inside a dotted module path, and every
event pays that lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span

from ragtel._context.handover import is_local_span
from ragtel._record.core import TracerCore
from ragtel._sdk.recording import recording_target
from ragtel._state import STATE
from ragtel._types import RAGEventType
from ragtel.semconv.spans import RAGTEL_EVENT_SPAN

if TYPE_CHECKING:
    from ragtel._attributes.events import EventRecord

_logger = logging.getLogger("ragtel")


# Trace and span events ------------------------------------------------------


def log_trace_event(
    core: TracerCore, input: Any, output: Any, metadata: Any, *, name: str | None = None
) -> None:
    """Record the flow's input and output once per trace, on its local root."""
    current = recording_target(None, core.reach)
    if current is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.trace_event_record(
        input=input, output=output, metadata=metadata, capture=core.capture, name=name
    )
    if not is_local_span(current):
        _record_on_own_span(core, record)
        return
    target = current
    processor = core.processor
    state = processor.trace_state_of(current) if processor else None
    if state is not None and processor is not None:
        if not processor.claim_trace_event(state):
            # LastMile logs this and carries on: the first event stays.
            _dropped_second_event(
                "ragtel: trace %032x already has its trace event; log_trace_event records "
                "one per trace, so this one was dropped",
                current.get_span_context().trace_id,
            )
            return
        target = state.root
    if target.is_recording():
        target.add_event(record.event_name, record.event_attributes)


def log_span_event(
    core: TracerCore,
    input: Any,
    output: Any,
    event_data: Any,
    event_kind: RAGEventType | str,
    name: str | None,
    span: Span | None,
) -> None:
    """Record a step's input, output and data, once per span."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.span_event_record(
        input=input,
        output=output,
        event_data=event_data,
        event_kind=event_kind,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record, once_per_span=True)


# Kind-specific events -------------------------------------------------------


def log_chunking_event(
    core: TracerCore,
    input_document: Any,
    output_chunks: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record a document split into chunks."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.chunking_record(
        input_document=input_document,
        output_chunks=output_chunks,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_embedding_event(
    core: TracerCore,
    embeddings: Any,
    data: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record computed embeddings (their vectors only when the tracer records them)."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import embeddings as builders  # lazy: import ragtel stays cheap

    record = builders.embedding_record(
        embeddings=embeddings,
        data=data,
        metadata=metadata,
        name=name,
        capture=core.capture,
        record_vectors=core.capture.record_embeddings,
    )
    _emit(core, target, record)


def log_query_rewrite_event(
    core: TracerCore,
    query: str,
    rewritten_query: str | list[str],
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record a query rewritten, or decomposed into sub-queries."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.query_rewrite_record(
        query=query,
        rewritten_query=rewritten_query,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_retrieval_event(
    core: TracerCore,
    query: str,
    retrieved_data: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record the chunks retrieved for a query."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.retrieval_record(
        query=query,
        retrieved_data=retrieved_data,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_rerank_event(
    core: TracerCore,
    retrieved: Any,
    reranked: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record retrieved chunks reordered."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.rerank_record(
        retrieved=retrieved,
        reranked=reranked,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_tool_call_event(
    core: TracerCore,
    tool: str,
    tool_args: Any,
    tool_result: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record a tool call: its name, arguments and result."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.tool_call_record(
        tool=tool,
        tool_args=tool_args,
        tool_result=tool_result,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_query_event(
    core: TracerCore,
    query: str,
    response: str | list[str],
    system_prompt: str | None,
    name: str | None,
    metadata: Any,
    span: Span | None,
) -> None:
    """Record a query answered: the query, the response and the system prompt."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import rag as builders  # lazy: import ragtel stays cheap

    record = builders.query_record(
        query=query,
        response=response,
        system_prompt=system_prompt,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_prompt_composition_event(
    core: TracerCore,
    resolved_prompt: str,
    components: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record a prompt composed from its parts."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import prompts  # lazy: import ragtel stays cheap

    record = prompts.prompt_composition_record(
        resolved_prompt=resolved_prompt,
        components=components,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_template_event(
    core: TracerCore,
    prompt_template: str,
    resolved_prompt: str,
    system_prompt: str | None,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record a prompt template filled in."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import prompts  # lazy: import ragtel stays cheap

    record = prompts.template_record(
        prompt_template=prompt_template,
        resolved_prompt=resolved_prompt,
        system_prompt=system_prompt,
        metadata=metadata,
        name=name,
        capture=core.capture,
    )
    _emit(core, target, record)


def log_synthesize_event(
    core: TracerCore,
    input: Any,
    output: Any,
    metadata: Mapping[str, Any] | None,
    name: str | None,
    span: Span | None,
) -> None:
    """Record an answer synthesized from retrieved data."""
    target = recording_target(span, core.reach)
    if target is None:
        return  # nothing would record: no check, no encoding
    from ragtel._attributes import prompts  # lazy: import ragtel stays cheap

    record = prompts.synthesize_record(
        input=input, output=output, metadata=metadata, name=name, capture=core.capture
    )
    _emit(core, target, record)


# Internals ------------------------------------------------------------------


def _emit(
    core: TracerCore, target: Span, record: EventRecord, *, once_per_span: bool = False
) -> None:
    """Record on ``target``, or on a span of its own when ``target`` does not record."""
    if not target.is_recording():
        _record_on_own_span(core, record)
        return
    if once_per_span and not _claim_span_event(core, target):
        return
    target.set_attributes(record.span_attributes)
    target.add_event(record.event_name, record.event_attributes)


def _claim_span_event(core: TracerCore, span: Span) -> bool:
    """Whether ``span`` may take its span event; False (and a warning) for a second one."""
    context = span.get_span_context()
    processor = core.processor
    state = processor.trace_state_of(span) if processor is not None else None
    if state is None or processor is None:
        return True
    if processor.claim_span_event(state, context.span_id):
        return True
    # LastMile logs this and carries on: the first event stays.
    _dropped_second_event(
        "ragtel: span %r (%016x) already has its span event; log_span_event records one "
        "per span, so this one was dropped",
        getattr(span, "name", ""),
        context.span_id,
    )
    return False


def _dropped_second_event(message: str, *arguments: object) -> None:
    """A warning the first time in the process, then debug lines: a loop must not flood logs."""
    if STATE.first_time(("second event", message)):
        _logger.warning(message + " (later ones are logged at debug level)", *arguments)
    else:
        _logger.debug(message, *arguments)


def _record_on_own_span(core: TracerCore, record: EventRecord) -> None:
    # The tracer's delegate, as LastMileTracer.start_span would call it (no context, no labels).
    own = core.delegate.start_span(RAGTEL_EVENT_SPAN, attributes=record.span_attributes)
    try:
        own.add_event(record.event_name, record.event_attributes)
    finally:
        own.end()
