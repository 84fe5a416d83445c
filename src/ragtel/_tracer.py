"""``LastMileTracer``: a real OpenTelemetry ``Tracer`` with ragtel's additions.

This module is the tracer's whole public surface on one page, which is why it
runs past 400 lines: every method is typed and documented here, and hands the
work to a plain function of ``ragtel._record`` (params, labels, rag_events,
generation, feedback, span_helpers, decorators, log), passing the tracer's
:class:`~ragtel._record.core.TracerCore`, the explicit parts it is made of.

Span creation is delegated to the wrapped SDK tracer untouched (a context
given as a string or ``SpanContext`` is converted first), so a LastMileTracer
can go anywhere an OTel ``Tracer`` goes and costs the same per span.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind
from opentelemetry.util import types
from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._context.handover import (
    ContextLike,
    export_span,
    get_distributed_trace_headers,
    get_span_id,
    get_trace_id,
    get_traceparent,
    serialize_span_context,
    to_context,
)
from ragtel._record import feedback as _feedback
from ragtel._record import generation as _generation
from ragtel._record import generic_events as _generic_events
from ragtel._record import labels as _labels
from ragtel._record import params as _params
from ragtel._record import rag_events as _rag_events
from ragtel._record import rag_flow as _rag_flow
from ragtel._record import span_helpers as _span_helpers
from ragtel._record.core import TracerCore
from ragtel._record.label_scope import AttributeScope
from ragtel._sdk.provider import Installation
from ragtel._sdk.recording import DROPS_ALL, recording_target, sampling_reach, sdk_disabled
from ragtel._sdk.tracer_profile import TracerProfile
from ragtel._types import RAGEventType, RagFlowType

F = TypeVar("F", bound=Callable[..., Any])


class LastMileTracer(trace.Tracer):
    """An OpenTelemetry ``Tracer`` for RAG and LLM pipelines.

    Get one with :func:`ragtel.get_lastmile_tracer`. Every OTel tracer method
    works as usual; ``context`` may also be a ``SpanContext``, a W3C
    ``traceparent`` string, a string from :meth:`serialize_span_context` or a
    mapping of incoming HTTP headers.

    Example::

        tracer = get_lastmile_tracer("my-rag-app")
        with tracer.start_as_current_span("answer") as span:
            span.set_attribute("question.length", 42)
    """

    def __init__(
        self,
        name: str,
        delegate: trace.Tracer,
        *,
        provider: trace.TracerProvider,
        capture: CaptureConfig,
        installation: Installation | None,
        profile: TracerProfile,
    ) -> None:
        self._core = TracerCore(
            name=name,
            delegate=delegate,
            provider=provider,
            capture=capture,
            profile=profile,
            installation=installation,
            processor=installation.processor if installation is not None else None,
            # Known once: whether spans this tracer starts can record at all.
            reach=sampling_reach(delegate),
            sdk_disabled=installation is None and sdk_disabled(),
        )

    @property
    def name(self) -> str:
        """The tracer's name (its OTel instrumentation scope)."""
        return self._core.name

    @property
    def tracer_provider(self) -> trace.TracerProvider:
        """The provider this tracer's spans go through."""
        return self._core.provider

    @property
    def output_filepaths(self) -> list[str]:
        """Absolute paths of the OTLP JSON Lines files ragtel writes this tracer's spans to."""
        installation = self._core.installation
        return installation.file_paths() if installation else []

    # OpenTelemetry Tracer --------------------------------------------------------------------

    def start_span(
        self,
        name: str,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Span:
        """Start a span without making it current; end it with ``span.end()``.

        ``session_id``, ``user_id``, ``tags`` and ``metadata`` label this span
        (:meth:`using_attributes` labels every span of a block).

        Example::

            span = tracer.start_span("embed", context=traceparent_from_upstream)
            try:
                ...
            finally:
                span.end()
        """
        if context is not None and type(context) is not Context:
            context = to_context(context)
        core = self._core
        if (
            session_id is not None
            or user_id is not None
            or tags is not None
            or metadata is not None
        ) and not (core.sdk_disabled or core.reach == DROPS_ALL):
            # Labels only this span carries: not encoded for a span that cannot record.
            own = _labels.span_labels(core, session_id, user_id, tags, metadata)
            attributes = {**own, **(attributes or {})}
        return core.delegate.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )

    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[Span]:
        """Start a span and make it current: a context manager that is also a decorator.

        ``session_id``, ``user_id``, ``tags`` and ``metadata`` label this span and
        every span started inside it.

        Example::

            with tracer.start_as_current_span("retrieve") as span:
                ...

            @tracer.start_as_current_span("answer")
            def answer(question): ...
        """
        if context is not None and type(context) is not Context:
            context = to_context(context)
        plain = session_id is None and user_id is None and tags is None and metadata is None
        if context is None and plain:  # the common case: exactly the SDK's call
            manager: AbstractContextManager[Span] = self._core.delegate.start_as_current_span(
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
                end_on_exit,
            )
            return manager
        return _labels.start_as_current_span(  # labels given or upstream: in force in the block
            self._core,
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
            session_id,
            user_id,
            tags,
            metadata,
        )

    # Decorators ------------------------------------------------------------------------------

    @overload
    def trace_function(self, name: F, /) -> F: ...

    @overload
    def trace_function(
        self,
        name: str | None = None,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Callable[[F], F]: ...

    def trace_function(
        self,
        name: str | F | None = None,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> F | Callable[[F], F]:
        """Decorate a function so each call is a span recording its arguments and result.

        Works on functions, coroutines, generators, async generators, methods,
        classmethods and staticmethods. The span is named ``name`` or the
        function's qualified name. ``@tracer.trace_function`` without
        parentheses is the same as ``@tracer.trace_function()``.

        Example::

            @tracer.trace_function()
            def retrieve(query: str, top_k: int = 5) -> list[str]: ...
        """
        from ragtel._record.decorators import SpanOptions, trace_callable  # loaded on first use

        core = self._core

        options = SpanOptions(
            context=to_context(context),
            kind=kind,
            attributes=attributes,
            links=links,
            start_time=start_time,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
            end_on_exit=end_on_exit,
        )
        if name is not None and not isinstance(name, str):
            # Used without parentheses: ``name`` is the function being decorated.
            return trace_callable(
                name, tracer=core.delegate, name=None, options=options, capture=core.capture
            )
        span_name = name

        def decorator(func: F) -> F:
            # The context was converted above, so calls can go straight to the SDK tracer.
            return trace_callable(
                func, tracer=core.delegate, name=span_name, options=options, capture=core.capture
            )

        return decorator

    @overload
    def atrace_function(self, name: F, /) -> F: ...

    @overload
    def atrace_function(
        self,
        name: str | None = None,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Callable[[F], F]: ...

    def atrace_function(
        self,
        name: str | F | None = None,
        context: ContextLike | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> F | Callable[[F], F]:
        """The same as :meth:`trace_function`, for coroutine and async generator functions.

        Example::

            @tracer.atrace_function("generate")
            async def generate(prompt: str) -> str: ...
        """
        decorator = self.trace_function(
            name if isinstance(name, str) else None,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        )
        if name is None or isinstance(name, str):
            return decorator
        return decorator(name)  # used without parentheses: ``name`` is the function

    # ParamSet: per-trace pipeline parameters (ragtel._record.params) -------------------------

    def register_param(
        self,
        key: str,
        value: Any,
        should_also_save_in_span: bool | Span = True,
        span: Span | None = None,
        *,
        sensitive: bool = False,
    ) -> None:
        """Add ``key`` (or replace its value) in the current trace's ParamSet.

        Both of LastMile's positional forms work: ``(key, value, span)`` and
        ``(key, value, should_also_save_in_span, span)``; a Span in the flag's
        place is the span. A span given twice, or a flag that is neither a bool
        nor a Span, raises TypeError. A ``sensitive`` param is recorded like any
        other but never propagated to other services.

        Example::

            tracer.register_param("chunk_size", 512)
            tracer.register_param("top_k", 5, retrieve_span)  # on retrieve_span's trace
        """
        _params.register_param(self._core, key, value, should_also_save_in_span, span, sensitive)

    def register_params(
        self,
        params: Mapping[str, Any],
        overwrite: bool = False,
        should_also_save_in_span: bool | Span = True,
        span: Span | None = None,
        *,
        sensitive: bool = False,
        should_overwrite: bool | None = None,
    ) -> None:
        """Upsert ``params`` into the current trace's ParamSet, or replace it with ``overwrite``.

        Every key is checked before anything is registered. As in LastMile,
        ``(params, overwrite, span)`` works as well as
        ``(params, overwrite, should_also_save_in_span, span)``, and
        ``should_overwrite`` is another spelling of ``overwrite`` (TypeError
        when the two disagree).

        Example::

            tracer.register_params({"chunk_size": 512, "top_k": 5})
        """
        if should_overwrite is not None:
            overwrite = _params.overwrite_of(overwrite, should_overwrite)
        _params.register_params(
            self._core, params, overwrite, should_also_save_in_span, span, sensitive
        )

    def get_params(self) -> dict[str, Any]:
        """The current trace's ParamSet, exactly as registered.

        With no active trace: the tracer's defaults, which the next trace starts from.
        """
        return _params.get_params(self._core)

    def clear_params(self, should_clear_global_params: bool = False) -> None:
        """Empty the current trace's ParamSet; with no active trace, the tracer's defaults.

        With ``should_clear_global_params`` the tracer's defaults (the params
        every later trace starts from, ``initial_params`` first) are emptied
        too, even inside a trace.

        Example::

            tracer.clear_params(should_clear_global_params=True)
        """
        _params.clear_params(self._core, bool(should_clear_global_params))

    def register_document_preprocess_params(
        self,
        chunk_size: int | None = None,
        chunk_strategy: str | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
    ) -> None:
        """Register the chunking configuration.

        Keys: ``ingestion.chunk_size``, ``ingestion.chunk_strategy``, then ``extras``.
        """
        _params.register_document_preprocess_params(
            self._core, chunk_size, chunk_strategy, extras, should_also_save_in_span, span
        )

    def register_embedding_params(
        self,
        embedding_model: str | None = None,
        embedding_dimensions: int | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
    ) -> None:
        """Register the embedding configuration: ``embedding.model``, ``embedding.dimensions``."""
        _params.register_embedding_params(
            self._core,
            embedding_model,
            embedding_dimensions,
            extras,
            should_also_save_in_span,
            span,
        )

    def register_query_processing_params(
        self,
        embedding_model: str | None = None,
        embedding_dimensions: int | None = None,
        decomposition_strategy: str | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
    ) -> None:
        """Register how queries are processed: ``query.embedding_model``,
        ``query.embedding_dimensions``, ``query.decomposition_strategy``."""
        _params.register_query_processing_params(
            self._core,
            embedding_model,
            embedding_dimensions,
            decomposition_strategy,
            extras,
            should_also_save_in_span,
            span,
        )

    def register_retrieval_params(
        self,
        top_k: int | None = None,
        reranking_model: str | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
    ) -> None:
        """Register the retrieval configuration.

        Keys: ``retrieval.top_k``, ``retrieval.reranking_model``, then ``extras``.
        """
        _params.register_retrieval_params(
            self._core, top_k, reranking_model, extras, should_also_save_in_span, span
        )

    def register_generation_params(
        self,
        model_params: Mapping[str, Any],
        extras: Mapping[str, Any] | None = None,
        *,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
    ) -> None:
        """Register LLM settings as ``generation.<key>``; messages and prompts are left out.

        OpenAI-style keys (model, temperature, top_p, max_tokens, frequency_penalty,
        presence_penalty, seed, stop) are also recorded as ``gen_ai.request.*`` on
        the span the params are saved in.

        Example::

            tracer.register_generation_params({"model": "gpt-4o", "temperature": 0.2})
        """
        _params.register_generation_params(
            self._core, model_params, extras, should_also_save_in_span, span
        )

    def register_query_model(
        self, value: str, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the model answering queries (``generation.model``)."""
        _params.register_generation_setting(
            self._core, "model", value, should_also_save_in_span, span
        )

    def register_query_temperature(
        self, value: float, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the temperature of query answering (``generation.temperature``)."""
        _params.register_generation_setting(
            self._core, "temperature", value, should_also_save_in_span, span
        )

    def register_query_top_p(
        self, value: float, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the top_p of query answering (``generation.top_p``)."""
        _params.register_generation_setting(
            self._core, "top_p", value, should_also_save_in_span, span
        )

    def register_ingestion_chunk_size(
        self, value: int, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the chunk size of ingestion (``ingestion.chunk_size``)."""
        _params.register_ingestion_chunk_size(self._core, value, should_also_save_in_span, span)

    def register_retrieval_top_k(
        self, value: int, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the number of chunks retrieved (``retrieval.top_k``)."""
        _params.register_retrieval_top_k(self._core, value, should_also_save_in_span, span)

    # Context attributes: labels for every span of a block (ragtel._record.labels) ------------

    def using_attributes(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AttributeScope:
        """Label every span started in the block (or decorated call) with a session, user,
        tags and metadata.

        Example::

            with tracer.using_attributes(session_id="conv-42", user_id="u-7", tags=["beta"]):
                answer(question)
        """
        return _labels.using_attributes(self._core, session_id, user_id, tags, metadata)

    def using_session(self, session_id: str) -> AttributeScope:
        """Label every span started in the block with ``session.id``.

        The session is mirrored as ``gen_ai.conversation.id``.
        """
        return _labels.using_attributes(self._core, session_id, None, None, None)

    def using_user(self, user_id: str) -> AttributeScope:
        """Label every span started in the block with ``user.id``."""
        return _labels.using_attributes(self._core, None, user_id, None, None)

    def using_tags(self, tags: Sequence[str]) -> AttributeScope:
        """Add ``tags`` to ``ragtel.tags`` of every span started in the block."""
        return _labels.using_attributes(self._core, None, None, tags, None)

    def using_metadata(self, metadata: Mapping[str, Any]) -> AttributeScope:
        """Record ``ragtel.metadata.<key>`` on every span started in the block."""
        return _labels.using_attributes(self._core, None, None, None, metadata)

    # RAG events (ragtel._record.rag_events) --------------------------------------------------

    def log_trace_event(self, input: Any = None, output: Any = None, metadata: Any = None) -> None:
        """Record the input and output of the whole flow, once per trace, on its local root.

        A second call in the same trace raises ValueError naming the trace.

        Example::

            tracer.log_trace_event(input=question, output=answer)
        """
        _rag_events.log_trace_event(self._core, input, output, metadata)

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
        _rag_events.log_span_event(self._core, input, output, event_data, event_kind, name, span)

    def add_rag_event_for_span(
        self,
        event_name: str,
        span: Span | None = None,
        input: Any = None,
        output: Any = None,
        event_data: Any = None,
        should_also_save_in_span: bool = True,
    ) -> None:
        """LastMile's older name of :meth:`log_span_event`, the event named ``event_name``.

        One per span, as there: a second is dropped with a warning. The event
        is always recorded on the span, so ``should_also_save_in_span`` is
        accepted and changes nothing.

        Example::

            tracer.add_rag_event_for_span("rerank", span, input=query, output=ids)
        """
        del should_also_save_in_span  # LastMile's flag; ragtel always records on the span
        _generic_events.add_rag_event_for_span(
            self._core, event_name, span, input, output, event_data
        )

    def add_rag_event_for_trace(
        self, event_name: str, input: Any = None, output: Any = None, event_data: Any = None
    ) -> None:
        """LastMile's older name of :meth:`log_trace_event`, the event named ``event_name``.

        One per trace, on its local root; ``event_data`` is recorded as the
        event's metadata.

        Example::

            tracer.add_rag_event_for_trace("answer", input=question, output=answer)
        """
        _generic_events.add_rag_event_for_trace(self._core, event_name, input, output, event_data)

    def set_rag_flow_type(
        self, flow_type: RagFlowType | str, ingestion_trace_id: int | str | None = None
    ) -> None:
        """Set the current trace's RAG flow type, and for a query its ingestion trace.

        Recorded on the trace's local root as ``ragtel.rag_flow.type``
        (replacing the tracer's ``rag_flow_type``) and
        ``ragtel.rag_flow.ingestion_trace_id`` (32 hex digits; the id may be
        given as an int, hex or decimal string). ValueError for an unknown
        flow type or an invalid id; with no span current, a warning.

        Example::

            with tracer.start_as_current_span("answer"):
                tracer.set_rag_flow_type(RagFlowType.QUERY, ingestion_trace_id=ingest_id)
        """
        _rag_flow.set_rag_flow_type(self._core, flow_type, ingestion_trace_id)

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
        _rag_events.log_chunking_event(
            self._core, input_document, output_chunks, metadata, name, span
        )

    def log_embedding_event(
        self,
        embeddings: Any,
        data: Any = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record computed embeddings: their count and dimension (vectors only when enabled)."""
        _rag_events.log_embedding_event(self._core, embeddings, data, metadata, name, span)

    def log_query_rewrite_event(
        self,
        query: str,
        rewritten_query: str | list[str],
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a query rewritten, or decomposed into sub-queries."""
        _rag_events.log_query_rewrite_event(
            self._core, query, rewritten_query, metadata, name, span
        )

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
        _rag_events.log_retrieval_event(self._core, query, retrieved_data, metadata, name, span)

    def log_rerank_event(
        self,
        retrieved: Any,
        reranked: Any,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record retrieved chunks reordered; every reranked id must be among the retrieved."""
        _rag_events.log_rerank_event(self._core, retrieved, reranked, metadata, name, span)

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
        _rag_events.log_tool_call_event(
            self._core, tool, tool_args, tool_result, metadata, name, span
        )

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
        _rag_events.log_query_event(
            self._core, query, response, system_prompt, name, metadata, span
        )

    def log_prompt_composition_event(
        self,
        resolved_prompt: str,
        components: Any = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a prompt composed from its parts (the query, retrieved context, examples).

        ``components`` is any JSON-able value, recorded as JSON.

        Example::

            tracer.log_prompt_composition_event(
                prompt, components={"query": question, "context": [c.content for c in chunks]}
            )
        """
        _rag_events.log_prompt_composition_event(
            self._core, resolved_prompt, components, metadata, name, span
        )

    def log_template_event(
        self,
        prompt_template: str,
        resolved_prompt: str,
        system_prompt: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record a prompt template filled in: the template, the result, the system prompt.

        Example::

            tracer.log_template_event("Answer {q}", "Answer what is RAG?")
        """
        _rag_events.log_template_event(
            self._core, prompt_template, resolved_prompt, system_prompt, metadata, name, span
        )

    def log_synthesize_event(
        self,
        input: Any,
        output: Any,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        span: Span | None = None,
    ) -> None:
        """Record an answer synthesized from retrieved data (text as is, other values as JSON).

        Example::

            tracer.log_synthesize_event({"query": q, "chunks": texts}, answer)
        """
        _rag_events.log_synthesize_event(self._core, input, output, metadata, name, span)

    # LLM calls and image generation (ragtel._record.generation) ------------------------------

    def log_llm_call(
        self,
        *,
        model: str,
        output: Any = None,
        messages: Any = None,
        prompt: Any = None,
        provider: str | None = None,
        params: Mapping[str, Any] | None = None,
        finish_reason: str | Sequence[str] | None = None,
        response_model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        cost: float | None = None,
        latency: float | None = None,
        stream_chunks: Sequence[str] | None = None,
        operation: str = "chat",
        span: Span | None = None,
    ) -> None:
        """Record an LLM call on ``span`` (default: the current span; with none, a new one).

        ``latency`` is in seconds, ``cost`` in US dollars. With ``stream_chunks``
        the chunks are kept (capped) and their concatenation is the output
        unless ``output`` is given. ``model`` and ``params`` also join the
        trace's ParamSet as ``generation.<setting>``.

        Example::

            tracer.log_llm_call(model="gpt-4o-mini", messages=messages, output=text,
                                input_tokens=812, output_tokens=96, cost=0.0004)
        """
        target = recording_target(span, self._core.reach)
        if target is None:
            return  # nothing would record: return before passing sixteen arguments on
        _generation.log_llm_call(
            self._core,
            target,
            model=model,
            output=output,
            messages=messages,
            prompt=prompt,
            provider=provider,
            params=params,
            finish_reason=finish_reason,
            response_model=response_model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens,
            cost=cost,
            latency=latency,
            stream_chunks=stream_chunks,
            operation=operation,
        )

    def log_image_generation(
        self,
        *,
        prompt: Any,
        params: Mapping[str, Any] | None = None,
        model: str | None = None,
        image_url: str | None = None,
        image_url_type: str | None = None,
        image_data: bytes | str | None = None,
        image_format: str | None = None,
        span: Span | None = None,
    ) -> str | None:
        """Record an image generation; returns a context string for an output that comes later.

        Give the image by ``image_url`` (preferred) or ``image_data`` (bytes or base64,
        with ``image_format``; capped, and heavy). If the image is not ready yet,
        keep the returned string and pass it to :meth:`log_image_output`.

        Example::

            handle = tracer.log_image_generation(prompt="a red fox", params={"size": "1024x1024"})
            ...
            tracer.log_image_output(handle, image_url=url)
        """
        return _generation.log_image_generation(
            self._core,
            prompt=prompt,
            params=params,
            model=model,
            image_url=image_url,
            image_url_type=image_url_type,
            image_data=image_data,
            image_format=image_format,
            span=span,
        )

    def log_image_output(
        self,
        context: ContextLike | None,
        *,
        image_url: str | None = None,
        image_url_type: str | None = None,
        image_data: bytes | str | None = None,
        image_format: str | None = None,
    ) -> None:
        """Record an image that arrived after its generation was logged, in the same trace.

        ``context`` is what :meth:`log_image_generation` returned (or any
        traceparent of the generation's span), from this process or another.
        ``None``, which :meth:`log_image_generation` returns when its trace was
        sampled out, records nothing: the trace stays out.
        """
        _generation.log_image_output(
            self._core,
            context,
            image_url=image_url,
            image_url_type=image_url_type,
            image_data=image_data,
            image_format=image_format,
        )

    # Feedback (ragtel._record.feedback) ------------------------------------------------------

    def log_feedback(
        self,
        feedback: str | float | Mapping[str, Any],
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        scale: tuple[float, float] | None = None,
    ) -> None:
        """Record feedback given as text, as a score or as a JSON-like object (a dict).

        A string is text feedback; a number (not a bool) is a score, as
        :meth:`log_numeric_feedback` records it, on ``scale`` when given;
        anything else is recorded as JSON, with values JSON cannot represent
        written as their ``repr``. ``trace_id``, ``span_id`` and ``context``
        choose the judged span (see :meth:`log_binary_feedback`). Raises
        TypeError for ``None`` and ValueError for empty text.
        """
        _feedback.log_feedback(
            self._core,
            feedback,
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
            scale=scale,
        )

    def log_binary_feedback(
        self,
        value: bool,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a thumbs up (``True``) or down (``False``).

        ``value`` must be a bool: ``1`` and ``0`` raise TypeError, since they
        could as well be ratings on another scale.

        The judged span: ``trace_id`` (32 hex digits or an int) with an
        optional ``span_id`` (16 hex digits or an int), or ``context``; with
        neither, the current span, or the project when no span is active.
        ``name`` says what was judged (default ``"feedback"``), ``annotator``
        who judged (``"human"``, ``"llm"`` or ``"code"``); ``explanation``
        and ``metadata`` are recorded as content. An invalid id or context
        raises ValueError quoting it.
        """
        _feedback.log_binary_feedback(
            self._core,
            value,
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def log_numeric_feedback(
        self,
        value: float,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        scale: tuple[float, float] | None = None,
    ) -> None:
        """Record a score on any finite scale, as given (0.8, or 4 stars out of 5).

        ``scale=(low, high)`` names the scale; it is recorded with the value,
        which must then lie within it. Raises ValueError for NaN or infinity,
        for a bad scale (low >= high, a bound not finite) or a value outside
        it, and TypeError for a non-number (a bool included). Other arguments
        as in :meth:`log_binary_feedback`.

        Example::

            tracer.log_numeric_feedback(4, trace_id, name="stars", scale=(1, 5))
        """
        _feedback.log_numeric_feedback(
            self._core,
            value,
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
            scale=scale,
        )

    def log_categorical_feedback(
        self,
        value: str,
        categories: Sequence[str],
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one label chosen out of ``categories``.

        Raises ValueError when ``categories`` is empty or repeats a category,
        or ``value`` is not one of them. Other arguments as in
        :meth:`log_binary_feedback`.
        """
        _feedback.log_categorical_feedback(
            self._core,
            value,
            categories,
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    def log_text_feedback(
        self,
        value: str,
        trace_id: str | int | None = None,
        span_id: str | int | None = None,
        *,
        context: ContextLike | None = None,
        name: str | None = None,
        annotator: str = "human",
        explanation: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record free-text feedback. Raises ValueError for empty text.

        The text is content: masked, capped, and left out when content capture
        is off. Other arguments as in :meth:`log_binary_feedback`.
        """
        _feedback.log_text_feedback(
            self._core,
            value,
            trace_id,
            span_id,
            context,
            name=name,
            annotator=annotator,
            explanation=explanation,
            metadata=metadata,
        )

    # Span conveniences (ragtel._record.span_helpers) -----------------------------------------

    def record_input(self, value: Any, span: Span | None = None) -> None:
        """Record ``value`` as the span's ``ragtel.input``."""
        _span_helpers.record_input(self._core, value, span)

    def record_output(self, value: Any, span: Span | None = None) -> None:
        """Record ``value`` as the span's ``ragtel.output``."""
        _span_helpers.record_output(self._core, value, span)

    def set_token_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        span: Span | None = None,
    ) -> None:
        """Record token counts as ``gen_ai.usage.*``."""
        _span_helpers.set_token_usage(
            self._core, input_tokens, output_tokens, cached_input_tokens, span
        )

    def add_tags(self, tags: Sequence[str], span: Span | None = None) -> None:
        """Add ``tags`` to the span's ``ragtel.tags``."""
        _span_helpers.add_tags(self._core, tags, span)

    def mark_failed(
        self, message: str, span: Span | None = None, *, error_type: str | None = None
    ) -> None:
        """Set the span's status to ERROR with ``message`` (and ``error.type``)."""
        _span_helpers.mark_failed(self._core, message, span, error_type)

    def update_span(self, fields: Mapping[str, Any], span: Span | None = None) -> list[str]:
        """Apply the known keys of ``fields`` to the span; return (and report) the others.

        Known keys: input, output, tags, metadata, model, input_tokens,
        output_tokens, cached_input_tokens, status ("completed" or "failed",
        or Adaline's "success"/"unknown" and "error"/"failure"), error (a
        failure message), and
        Opik's usage (``{"prompt_tokens": 12, "completion_tokens": 3}``, as
        ``gen_ai.usage.*``), provider (``gen_ai.provider.name``), total_cost
        (``ragtel.llm.cost``, US dollars) and attributes (a mapping set on the
        span through ragtel's encoder). Unknown keys (and unknown usage keys,
        as ``usage.<key>``) are listed in ``ragtel.update.ignored_keys`` and a
        warning.

        Example::

            tracer.update_span({"status": "success", "usage": {"prompt_tokens": 12},
                                "provider": "openai", "total_cost": 0.0004})
        """
        return _span_helpers.update_span(self._core, fields, span)

    def record_span(
        self,
        name: str,
        *,
        kind: RAGEventType | str = RAGEventType.CUSTOM,
        input: Any = None,
        output: Any = None,
        latency: float | None = None,
        status: str = "completed",
        error: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
        context: ContextLike | None = None,
    ) -> SpanContext:
        """Record an operation that already finished, in one call; returns its span context.

        The span ends now and started ``latency`` seconds ago. ``kind`` is a
        :class:`RAGEventType` value or another SDK's span type, kept as given
        in ``ragtel.span.type``: ``"llm"`` (GenAI operation ``chat``),
        ``"tool"`` (step ``tool_call``, operation ``execute_tool``),
        ``"plan"``, ``"action"`` or any custom string (step ``custom``).
        ``status`` is ``"completed"`` or ``"failed"`` (or Adaline's
        ``"success"``/``"unknown"`` and ``"error"``/``"failure"``).

        Example::

            tracer.record_span("lookup", kind="tool_call", input={"key": "u-1"},
                               output={"name": "Ada"}, latency=0.045)
        """
        return _span_helpers.record_span(
            self._core,
            name,
            kind=kind,
            input=input,
            output=output,
            latency=latency,
            status=status,
            error=error,
            attributes=attributes,
            context=context,
        )

    # Context hand-over -----------------------------------------------------------------------

    def get_traceparent(self, span: Span | None = None) -> str | None:
        """W3C ``traceparent`` of ``span`` (default: the current span), or None."""
        return get_traceparent(span)

    def serialize_span_context(self, span: Span | None = None) -> str | None:
        """A string that carries ``span``'s context to another process (or None).

        Example::

            handle = tracer.serialize_span_context()      # process A
            tracer.start_span("late", context=handle)     # process B, same trace
        """
        return serialize_span_context(span)

    def get_distributed_trace_headers(self, span: Span | None = None) -> dict[str, str]:
        """HTTP headers (``traceparent``…) carrying the current or given span's context."""
        return get_distributed_trace_headers(span)

    def export_span(self, span: Span | None = None) -> str:
        """LastMile's JSON of ``span``'s context (default: the current span).

        ``{"trace_id": int, "span_id": int, "trace_flags": int, "trace_state": str,
        "is_remote": bool}``; with no span both ids are 0. Any ragtel tracer
        takes it as ``context=``.

        Example::

            handle = tracer.export_span()                  # process A
            tracer.start_span("late", context=handle)      # process B, same trace
            tracer.log_binary_feedback(True, context=handle)
        """
        return export_span(span)

    def get_trace_id(self, span: Span | None = None) -> int:
        """``span``'s trace id (default: the current span) as an int, as LastMile returns it.

        0 with no span. The int, or its decimal string, is taken wherever a
        ``trace_id`` is.

        Example::

            with tracer.start_as_current_span("answer"):
                trace_id = str(tracer.get_trace_id())   # decimal, LastMile's form
            tracer.log_binary_feedback(True, trace_id)
        """
        return get_trace_id(span)

    def get_span_id(self, span: Span | None = None) -> int:
        """``span``'s span id (default: the current span) as an int, as LastMile returns it.

        0 with no span. The int, or its decimal string, is taken wherever a
        ``span_id`` is.

        Example::

            with tracer.start_as_current_span("retrieve") as span:
                span_id = tracer.get_span_id(span)
        """
        return get_span_id(span)

    def store_trace_id(
        self, key: str, trace_id: int | str | None = None, span_id: int | str | None = None
    ) -> None:
        """Remember ``key`` -> (trace id, span id) for any process of this machine.

        Default ids: the current span's. The map is a small SQLite file beside
        this tracer's traces file (``<traces file>.ids.sqlite``, or
        ``RAGTEL_TRACE_IDS_FILE``), capped at 100,000 keys (oldest dropped).
        Storage errors are logged once, never raised. Across machines, use
        ``trace_id_from_request_id`` instead (docs/feedback.md).

        Example::

            with tracer.start_as_current_span("answer"):
                tracer.store_trace_id(message_id)
        """
        from ragtel._record.trace_ids import store_trace_id  # sqlite3 loads on first use

        store_trace_id(self._core, key, trace_id, span_id)

    def read_trace_id(self, key: str) -> str | None:
        """The trace id stored under ``key`` by :meth:`store_trace_id`, as a decimal string.

        LastMile's form, taken by every ``trace_id=``; None for an unknown key
        (or when the map cannot be read, logged once).

        Example::

            tracer.log_binary_feedback(True, tracer.read_trace_id(message_id))
        """
        from ragtel._record.trace_ids import read_trace_id  # sqlite3 loads on first use

        return read_trace_id(self._core, key)

    # log() -----------------------------------------------------------------------------------

    def log(self, data: Any, logger: logging.Logger | str | os.PathLike[str] | None = None) -> None:
        """Log ``data`` (its ``repr``) for later reading next to the trace.

        ``logger`` chooses where it goes:

        * ``None``: an OpenTelemetry log record correlated with the current
          span, exported with the traces (the logs endpoint of the same
          collector, or the logs file beside the traces file), or through the
          app's own ``LoggerProvider``;
        * a path: the record is appended to that file at once, as an OTLP
          JSON line;
        * a ``logging.Logger``: logged there at INFO, like any log line.

        The ``repr`` is masked, redacted and capped like captured values.
        Raises TypeError for any other ``logger``.
        """
        from ragtel._record.log import log  # the Logs SDK loads on first use

        log(self._core, data, logger)

    # Lifecycle -------------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export every finished span and log record now; False if ``timeout_millis`` passed."""
        installation = self._core.installation
        flush = getattr(self._core.provider, "force_flush", None)
        flushed = bool(flush(timeout_millis)) if flush is not None else True
        pipeline = installation.log_pipeline if installation else None
        if pipeline is not None:
            flushed = pipeline.force_flush(timeout_millis) and flushed
        return flushed

    def flush(self, timeout_millis: int = 30_000) -> bool:
        """Alias of :meth:`force_flush`."""
        return self.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop export.

        A provider ragtel created is shut down. On the app's own provider only
        the exporters ragtel added are stopped; the app's own keep running.
        """
        installation = self._core.installation
        if installation is None:
            return
        provider = installation.provider
        if installation.owned and provider is not None:
            provider.shutdown()
        installation.shutdown_exporters()

    def dropped_span_count(self) -> int:
        """Spans ragtel's exporters could not deliver so far (queue full, export failed...)."""
        installation = self._core.installation
        return installation.drop_counts().total if installation else 0

    def __repr__(self) -> str:
        return f"LastMileTracer(name={self._core.name!r})"


def tracer_core(tracer: LastMileTracer) -> TracerCore:
    """The parts ``tracer`` is made of, for ragtel's own factory, log pipeline and instrumentation.

    Package-internal: code outside ragtel uses the tracer's public methods.
    """
    return tracer._core
