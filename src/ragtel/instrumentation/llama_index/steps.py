"""What ragtel records of each LlamaIndex step, through the tracer's public APIs.

Events land on the span LlamaIndex sent them with: retrieval, embedding,
query, synthesis and LLM calls come from LlamaIndex's own events; chunking
and reranking from the spans of node parsers and node postprocessors, which
send no events of their own (their inputs and results are the span's
arguments and return value). Each step also registers the settings it ran
with in the trace's ParamSet.

While ragtel steps aside for another LlamaIndex instrumentation
(``record.span is None``), only the ParamSet is kept: its spans already carry
the calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.events.query import QueryEndEvent, QueryStartEvent
from llama_index.core.instrumentation.events.rerank import ReRankStartEvent
from llama_index.core.instrumentation.events.retrieval import (
    RetrievalEndEvent,
    RetrievalStartEvent,
)
from llama_index.core.instrumentation.events.synthesis import SynthesizeEndEvent
from opentelemetry import trace
from opentelemetry.trace import Span

from ragtel._tracer import LastMileTracer
from ragtel._types import RAGEventType
from ragtel.instrumentation.llama_index import values as values
from ragtel.instrumentation.llama_index.spans import (
    LLMRequest,
    OpenSpan,
    Role,
)

EventRecorder = Callable[[LastMileTracer, OpenSpan, Any], bool]
"""Records one event on its span; True when the event finished the span's LLM stream."""


# Steps -------------------------------------------------------------------------


def on_enter(tracer: LastMileTracer, record: OpenSpan) -> None:
    """Register the settings a span's object runs with, known before it runs."""
    if record.role is Role.PARSE_NODES:
        _register(tracer, record, _chunking_params(record.instance))


def on_exit(
    tracer: LastMileTracer, record: OpenSpan, arguments: dict[str, Any], result: Any
) -> None:
    """Record what a span's call produced, for the steps that send no events."""
    if record.role is Role.PARSE_NODES:
        _record_chunking(tracer, record, arguments, result)
    elif record.role is Role.POSTPROCESS:
        _record_postprocessing(tracer, record, arguments, result)


def on_event(tracer: LastMileTracer, record: OpenSpan, event: BaseEvent) -> bool:
    """Record ``event`` on its span; True when it finished the span's LLM stream."""
    for event_type in type(event).__mro__:
        recorder = _EVENT_RECORDERS.get(event_type)
        if recorder is not None:
            return recorder(tracer, record, event)
    return False


# Chunking ----------------------------------------------------------------------


def _chunking_params(parser: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"ingestion.chunk_strategy": type(parser).__name__}
    chunk_size = values.int_setting(parser, "chunk_size")
    if chunk_size is not None:
        params["ingestion.chunk_size"] = chunk_size
    chunk_overlap = values.int_setting(parser, "chunk_overlap")
    if chunk_overlap is not None:
        params["ingestion.chunk_overlap"] = chunk_overlap
    return params


def _record_chunking(
    tracer: LastMileTracer, record: OpenSpan, arguments: dict[str, Any], result: Any
) -> None:
    documents, span = arguments.get("nodes"), record.span
    if span is None or not isinstance(documents, (list, tuple)) or not isinstance(result, list):
        return
    settings = _chunking_params(record.instance)
    metadata = {
        "splitter": settings["ingestion.chunk_strategy"],
        "chunk_size": settings.get("ingestion.chunk_size"),
        "chunk_overlap": settings.get("ingestion.chunk_overlap"),
    }
    metadata = {key: value for key, value in metadata.items() if value is not None}
    for document, chunks in values.chunked_documents(documents, result):
        tracer.log_chunking_event(document, chunks, metadata=metadata, span=span)


# Reranking and other node postprocessing ------------------------------------------


def _record_postprocessing(
    tracer: LastMileTracer, record: OpenSpan, arguments: dict[str, Any], result: Any
) -> None:
    postprocessor = record.instance
    model = _reranking_model(record)
    top_n = record.rerank_top_n
    if top_n is None:
        top_n = values.int_setting(postprocessor, "top_n")
    cutoff = values.float_setting(postprocessor, "similarity_cutoff")
    extras = {
        key: value
        for key, value in (
            ("retrieval.rerank_top_n", top_n),
            ("retrieval.similarity_cutoff", cutoff),
        )
        if value is not None
    }
    target = _param_target(record)
    if target is not None and (model is not None or extras):
        tracer.register_retrieval_params(
            reranking_model=model,
            extras=extras,
            should_also_save_in_span=record.span is not None,
            span=target,
        )
    nodes = arguments.get("nodes")
    if record.span is None or not isinstance(nodes, list) or not isinstance(result, list):
        return
    before = values.chunk_ids(nodes)
    if not set(values.chunk_ids(result)) <= set(before):
        return  # it added nodes (neighbours, say): not a reordering of what was retrieved
    query = record.rerank_query or values.query_text(arguments.get("query_bundle"))
    metadata = {
        "postprocessor": type(postprocessor).__name__,
        "model": model,
        "top_n": top_n,
        "query": query,
    }
    tracer.log_rerank_event(
        values.retrieved_chunks(nodes),
        values.retrieved_chunks(result),
        metadata={key: value for key, value in metadata.items() if value is not None},
        span=record.span,
    )


def _reranking_model(record: OpenSpan) -> str | None:
    """The model a postprocessor reranks with: the one its rerank event names, else its
    ``model`` setting (cross-encoders), else the LLM it asks (LLM rerankers)."""
    postprocessor = record.instance
    model = values.known_model(record.rerank_model) or values.str_setting(postprocessor, "model")
    if model is not None:
        return model
    llm = getattr(postprocessor, "llm", None)
    return values.model_name(llm) if llm is not None else None


def _rerank_started(tracer: LastMileTracer, record: OpenSpan, event: ReRankStartEvent) -> bool:
    record.rerank_model = event.model_name or None
    record.rerank_top_n = event.top_n
    record.rerank_query = values.query_text(event.query)
    return False


# Retrieval ---------------------------------------------------------------------


def _retrieval_started(
    tracer: LastMileTracer, record: OpenSpan, event: RetrievalStartEvent
) -> bool:
    target = _param_target(record)
    if target is not None:
        tracer.register_retrieval_params(
            top_k=values.int_setting(record.instance, "similarity_top_k"),
            extras={"retrieval.retriever": type(record.instance).__name__},
            should_also_save_in_span=record.span is not None,
            span=target,
        )
    return False


def _retrieval_ended(tracer: LastMileTracer, record: OpenSpan, event: RetrievalEndEvent) -> bool:
    if record.span is None:
        return False
    metadata: dict[str, Any] = {"retriever": type(record.instance).__name__}
    top_k = values.int_setting(record.instance, "similarity_top_k")
    if top_k is not None:
        metadata["top_k"] = top_k
    tracer.log_retrieval_event(
        values.query_text(event.str_or_query_bundle) or "",
        values.retrieved_chunks(event.nodes),
        metadata=metadata,
        span=record.span,
    )
    return False


# Embedding ---------------------------------------------------------------------


def _embedding_ended(tracer: LastMileTracer, record: OpenSpan, event: EmbeddingEndEvent) -> bool:
    if record.role is Role.INNER_CALL:
        return False
    model = record.model or values.model_name(record.instance)
    dimensions = len(event.embeddings[0]) if event.embeddings else None
    target = _param_target(record)
    if target is not None:
        tracer.register_embedding_params(
            embedding_model=model,
            embedding_dimensions=dimensions,
            should_also_save_in_span=record.span is not None,
            span=target,
        )
    if record.span is not None:
        tracer.log_embedding_event(
            event.embeddings, data=event.chunks, metadata={"model": model}, span=record.span
        )
    return False


# Query and synthesis -------------------------------------------------------------


def _query_started(tracer: LastMileTracer, record: OpenSpan, event: QueryStartEvent) -> bool:
    query = values.query_text(event.query)
    if record.span is not None and query is not None:
        tracer.record_input(query, span=record.span)
    return False


def _query_ended(tracer: LastMileTracer, record: OpenSpan, event: QueryEndEvent) -> bool:
    query, answer = values.query_text(event.query), values.response_text(event.response)
    if record.span is not None and query is not None and answer is not None:
        tracer.log_query_event(query, answer, span=record.span)
    return False


def _synthesis_ended(tracer: LastMileTracer, record: OpenSpan, event: SynthesizeEndEvent) -> bool:
    if record.span is not None:
        tracer.log_span_event(
            input=values.query_text(event.query),
            output=values.response_text(event.response),
            event_kind=RAGEventType.SYNTHESIZE,
            span=record.span,
        )
    return False


# LLM calls ---------------------------------------------------------------------
#
# The request is recorded when the call starts, the answer when it ends. A streamed
# answer often ends after the trace's root did (a query engine returns its stream at
# once): the model and settings must join the ParamSet while the trace is open.


def _chat_started(tracer: LastMileTracer, record: OpenSpan, event: LLMChatStartEvent) -> bool:
    if record.role is Role.LLM_CALL:
        messages = values.chat_messages(event.messages)
        _record_llm_request(tracer, record, LLMRequest(messages, None, event.additional_kwargs))
    return False


def _completion_started(
    tracer: LastMileTracer, record: OpenSpan, event: LLMCompletionStartEvent
) -> bool:
    if record.role is Role.LLM_CALL:
        _record_llm_request(tracer, record, LLMRequest(None, event.prompt, event.additional_kwargs))
    return False


def _llm_progressed(
    tracer: LastMileTracer,
    record: OpenSpan,
    event: LLMChatInProgressEvent | LLMCompletionInProgressEvent,
) -> bool:
    if record.role is Role.LLM_CALL:
        record.stream.add(values.stream_delta(event.response))
    return False


def _llm_ended(
    tracer: LastMileTracer, record: OpenSpan, event: LLMChatEndEvent | LLMCompletionEndEvent
) -> bool:
    if record.role is not Role.LLM_CALL or record.llm_request is None or record.llm_answered:
        return False
    record.llm_answered = True
    if record.span is not None:
        response = event.response
        if record.exited:  # what the application received of a stream: its pieces, joined
            output = record.stream.text()
        elif record.operation == "chat":
            output = values.chat_output(response)
        else:
            output = values.completion_output(response)
        _record_llm_answer(tracer, record.span, output, values.token_usage(response))
    return record.exited


def _llm_failed(tracer: LastMileTracer, record: OpenSpan, event: ExceptionEvent) -> bool:
    """A stream that raised, or that the application closed before its end."""
    if record.role is not Role.LLM_CALL or not record.exited or record.llm_answered:
        return False
    record.llm_answered = True
    if record.span is not None:
        _record_llm_answer(tracer, record.span, record.stream.text(), values.TokenUsage())
    return True


def _record_llm_request(tracer: LastMileTracer, record: OpenSpan, request: LLMRequest) -> None:
    if record.llm_request is not None:
        return
    record.llm_request = request
    llm, model = record.instance, record.model or values.model_name(record.instance)
    settings = values.llm_settings(llm, request.call_kwargs)
    if record.span is not None:
        tracer.log_llm_call(
            model=model,
            provider=values.provider_name(llm),
            operation=record.operation or "chat",
            messages=request.messages,
            prompt=request.prompt,
            params=settings,
            span=record.span,
        )
        return
    target = _param_target(record)
    if target is not None:
        tracer.register_generation_params(
            {"model": model, **settings}, should_also_save_in_span=False, span=target
        )


def _record_llm_answer(
    tracer: LastMileTracer, span: Span, output: str | None, usage: values.TokenUsage
) -> None:
    if output is not None:
        tracer.record_output(output, span=span)
    if usage != values.TokenUsage():
        tracer.set_token_usage(
            usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, span=span
        )


# Shared ------------------------------------------------------------------------


def _param_target(record: OpenSpan) -> Span | None:
    """The span whose trace gets the params: the step's own, else (stepping aside) the
    current one — never none at all, which would change the defaults of later traces."""
    if record.span is not None:
        return record.span
    current = trace.get_current_span()
    return current if current.is_recording() else None


def _register(tracer: LastMileTracer, record: OpenSpan, params: dict[str, Any]) -> None:
    target = _param_target(record)
    if target is not None and params:
        tracer.register_params(
            params, should_also_save_in_span=record.span is not None, span=target
        )


_EVENT_RECORDERS: dict[type, EventRecorder] = {
    RetrievalStartEvent: _retrieval_started,
    RetrievalEndEvent: _retrieval_ended,
    EmbeddingEndEvent: _embedding_ended,
    ReRankStartEvent: _rerank_started,
    QueryStartEvent: _query_started,
    QueryEndEvent: _query_ended,
    SynthesizeEndEvent: _synthesis_ended,
    LLMChatStartEvent: _chat_started,
    LLMCompletionStartEvent: _completion_started,
    LLMChatInProgressEvent: _llm_progressed,
    LLMCompletionInProgressEvent: _llm_progressed,
    LLMChatEndEvent: _llm_ended,
    LLMCompletionEndEvent: _llm_ended,
    ExceptionEvent: _llm_failed,
}
"""By event class; an event of a subclass is recorded as its closest listed base."""
