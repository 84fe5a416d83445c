"""The ParamSet API of :class:`~ragtel.LastMileTracer`: per-trace pipeline parameters.

A ParamSet belongs to one trace. Each param is recorded on the trace's local
root span as ``ragtel.param.<key>`` (and, by default, on the current or given
span too), so traces can be filtered and grouped by configuration.

Which trace a call affects:

* the trace of ``span=``, else of the current span;
* with no span active at all, the tracer's defaults: the ParamSet every later
  trace starts from (``initial_params`` are the first defaults). A tracer keeps
  at most 256 defaults; more are dropped, counted and warned about once;
* a span that records nothing (a sampled-out trace, a no-op provider,
  ``OTEL_SDK_DISABLED``): nothing, not even a check of the arguments. Inside a
  span, a registration is never a default, even when that span records nothing;
* a trace whose local root has already ended: nothing, and a warning — the
  params are never written to another trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span
from opentelemetry.util.types import AttributeValue

from ragtel._attributes import params as _params
from ragtel._attributes.context import (
    UNUSED_LABELS,
    AttributeScope,
    context_attributes,
    labels_unused,
)
from ragtel._config import CaptureConfig
from ragtel._context.handover import is_local_span, span_or_current
from ragtel._sdk.processor import RagtelSpanProcessor, TracerProfile
from ragtel._sdk.recording import in_a_span

_logger = logging.getLogger("ragtel")


class ParamSetAPI:
    """ParamSet and context-attribute methods; mixed into LastMileTracer."""

    _capture: CaptureConfig
    _profile: TracerProfile
    _processor: RagtelSpanProcessor | None
    _reach: int
    _sdk_disabled: bool

    # Core -----------------------------------------------------------------

    def register_param(
        self,
        key: str,
        value: Any,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
        *,
        sensitive: bool = False,
    ) -> None:
        """Add ``key`` (or replace its value) in the current trace's ParamSet.

        A ``sensitive`` param is recorded like any other but never propagated to
        other services.

        Example::

            tracer.register_param("chunk_size", 512)
        """
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        self._register(
            {_params.validate_param_key(key): value},
            overwrite=False,
            save_in_span=should_also_save_in_span,
            target=target,
            sensitive=sensitive,
        )

    def register_params(
        self,
        params: Mapping[str, Any],
        overwrite: bool = False,
        should_also_save_in_span: bool = True,
        span: Span | None = None,
        *,
        sensitive: bool = False,
    ) -> None:
        """Upsert ``params`` into the current trace's ParamSet, or replace it with ``overwrite``.

        Every key is checked before anything is registered.

        Example::

            tracer.register_params({"chunk_size": 512, "top_k": 5})
        """
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        self._register(
            _params.validated_params(params),
            overwrite=overwrite,
            save_in_span=should_also_save_in_span,
            target=target,
            sensitive=sensitive,
        )

    def get_params(self) -> dict[str, Any]:
        """The current trace's ParamSet, exactly as registered.

        With no active trace: the tracer's defaults, which the next trace starts from.
        """
        processor = self._processor
        target = trace.get_current_span()
        if processor is not None and is_local_span(target):
            state = processor.state_for(target)
            if state is not None:
                processor.adopt(state, self._profile)
                return processor.params_of(state)
        return self._profile.copy_defaults()

    def clear_params(self) -> None:
        """Empty the current trace's ParamSet; with no active trace, the tracer's defaults."""
        target = trace.get_current_span()
        if not target.is_recording() and self._nothing_to_register(target, None):
            return
        self._register({}, overwrite=True, save_in_span=False, target=target)

    # RAG helpers ------------------------------------------------------------

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
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        params = _params.document_preprocess_params(chunk_size, chunk_strategy, extras)
        self._register(
            params, overwrite=False, save_in_span=should_also_save_in_span, target=target
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
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        params = _params.embedding_params(embedding_model, embedding_dimensions, extras)
        self._register(
            params, overwrite=False, save_in_span=should_also_save_in_span, target=target
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
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        params = _params.query_processing_params(
            embedding_model, embedding_dimensions, decomposition_strategy, extras
        )
        self._register(
            params, overwrite=False, save_in_span=should_also_save_in_span, target=target
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
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        params = _params.retrieval_params(top_k, reranking_model, extras)
        self._register(
            params, overwrite=False, save_in_span=should_also_save_in_span, target=target
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
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        params, gen_ai = _params.generation_params(
            model_params,
            extras,
            max_length=self._capture.limits.max_length,
            mirror=should_also_save_in_span and target.is_recording(),
        )
        self._register(
            params,
            overwrite=False,
            save_in_span=should_also_save_in_span,
            target=target,
            extra=gen_ai,
        )

    def register_query_model(
        self, value: str, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the model answering queries (``generation.model``)."""
        self._register_setting("model", value, should_also_save_in_span, span)

    def register_query_temperature(
        self, value: float, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the temperature of query answering (``generation.temperature``)."""
        self._register_setting("temperature", value, should_also_save_in_span, span)

    def register_query_top_p(
        self, value: float, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the top_p of query answering (``generation.top_p``)."""
        self._register_setting("top_p", value, should_also_save_in_span, span)

    def register_ingestion_chunk_size(
        self, value: int, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the chunk size of ingestion (``ingestion.chunk_size``)."""
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        self._register(
            {"ingestion.chunk_size": value},
            overwrite=False,
            save_in_span=should_also_save_in_span,
            target=target,
        )

    def register_retrieval_top_k(
        self, value: int, should_also_save_in_span: bool = True, span: Span | None = None
    ) -> None:
        """Register the number of chunks retrieved (``retrieval.top_k``)."""
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        self._register(
            {"retrieval.top_k": value},
            overwrite=False,
            save_in_span=should_also_save_in_span,
            target=target,
        )

    # Context attributes -----------------------------------------------------

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
        if labels_unused(self._reach, self._sdk_disabled):
            return UNUSED_LABELS  # before the arguments are read: tracing off costs nothing
        return AttributeScope(
            context_attributes(
                session_id=session_id,
                user_id=user_id,
                tags=tags,
                metadata=metadata,
                capture=self._capture,
            ),
            on_enter=self._label_root,
        )

    def _label_root(self, labels: Mapping[str, AttributeValue]) -> None:
        """Labels apply to every span of a trace: also to its root, started before the scope."""
        processor = self._processor
        current = trace.get_current_span()
        if processor is None or not current.is_recording():
            return
        state = processor.state_for(current)
        root = state.root if state is not None else None
        if root is None or not root.is_recording():
            return
        present = getattr(root, "attributes", None) or {}
        missing = {key: value for key, value in labels.items() if key not in present}
        if missing:
            root.set_attributes(missing)

    def using_session(self, session_id: str) -> AttributeScope:
        """Label every span started in the block with ``session.id``.

        The session is mirrored as ``gen_ai.conversation.id``.
        """
        return self.using_attributes(session_id=session_id)

    def using_user(self, user_id: str) -> AttributeScope:
        """Label every span started in the block with ``user.id``."""
        return self.using_attributes(user_id=user_id)

    def using_tags(self, tags: Sequence[str]) -> AttributeScope:
        """Add ``tags`` to ``ragtel.tags`` of every span started in the block."""
        return self.using_attributes(tags=tags)

    def using_metadata(self, metadata: Mapping[str, Any]) -> AttributeScope:
        """Record ``ragtel.metadata.<key>`` on every span started in the block."""
        return self.using_attributes(metadata=metadata)

    # Internals --------------------------------------------------------------

    def _register_setting(
        self, name: str, value: Any, save_in_span: bool, span: Span | None
    ) -> None:
        target = span_or_current(span)
        if not target.is_recording() and self._nothing_to_register(target, span):
            return
        params, gen_ai = _params.generation_setting(
            name,
            value,
            self._capture.limits.max_length,
            mirror=save_in_span and target.is_recording(),
        )
        self._register(
            params, overwrite=False, save_in_span=save_in_span, target=target, extra=gen_ai
        )

    def _nothing_to_register(self, target: Span, span: Span | None) -> bool:
        """True when a registration for ``target`` (which does not record) has nowhere to go.

        That is a sampled-out trace, or a span that records nothing because
        tracing is off (a no-op provider, ``OTEL_SDK_DISABLED``: no trace state
        is kept at all). Only with no span at all does a registration go to the
        tracer's defaults: one made inside a request must never leak into every
        later request. Decided before any check or copy.
        """
        context = target.get_span_context()
        if context.is_valid:
            # A remote parent, or a local span that has ended, is let through to be
            # warned about, where there is trace state to miss.
            return self._processor is None or (
                isinstance(target, NonRecordingSpan) and not context.is_remote
            )
        return span is not None or in_a_span()

    def _register(
        self,
        params: dict[str, Any],
        *,
        overwrite: bool,
        save_in_span: bool,
        target: Span,
        extra: Mapping[str, AttributeValue] | None = None,
        sensitive: bool = False,
    ) -> None:
        """Register ``params`` for ``target``, which ``_nothing_to_register`` let through."""
        context = target.get_span_context()
        local = context.is_valid and not context.is_remote
        if not local or isinstance(target, NonRecordingSpan):
            if context.is_valid:
                # Only a remote parent is current: registering now would change the
                # defaults of every later trace, which is surely not what is meant.
                _logger.warning(
                    "ragtel: params %s not registered: no local span is active (only a "
                    "remote parent); start a span first",
                    sorted(params) or "(clear)",
                )
                return
            self._profile.update_defaults(params, overwrite=overwrite, sensitive=sensitive)
            return
        processor = self._processor
        if processor is None:
            return  # not an SDK provider: there is no trace state to keep
        state = processor.state_for(target, context.span_id)
        if state is None:
            _logger.warning(
                "ragtel: params %s not registered: the local root of trace %032x has ended "
                "(or too many traces are open to track it)",
                sorted(params) or "(clear)",
                context.trace_id,
            )
            return
        # The tracer's defaults join the trace first, so they never override
        # what is registered now (the trace may have started elsewhere).
        processor.adopt(state, self._profile)
        recorded = processor.update(
            state, params, capture=self._capture, overwrite=overwrite, sensitive=sensitive
        )
        if not save_in_span or not target.is_recording():
            return
        is_root = state.root_id == context.span_id
        attributes: dict[str, AttributeValue] = {} if is_root else dict(recorded)
        if extra:
            attributes.update(extra)
        if attributes:
            target.set_attributes(attributes)
