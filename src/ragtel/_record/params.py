"""What the ParamSet methods of :class:`~ragtel.LastMileTracer` do: per-trace pipeline parameters.

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

Each function takes the tracer's :class:`~ragtel._record.core.TracerCore` first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span
from opentelemetry.util.types import AttributeValue

from ragtel._attributes import params as param_builders
from ragtel._context.handover import is_local_span, span_or_current
from ragtel._record.core import TracerCore
from ragtel._sdk.recording import in_a_span

_logger = logging.getLogger("ragtel")


# Core -----------------------------------------------------------------------


def register_param(
    core: TracerCore,
    key: str,
    value: Any,
    save_in_span: bool | Span,
    span: Span | None,
    sensitive: bool,
) -> None:
    """Add ``key`` (or replace its value) in the ParamSet of ``span``'s trace."""
    if isinstance(save_in_span, bool):
        save = save_in_span
    else:
        save, span = span_in_flag_slot(save_in_span, span, "should_also_save_in_span")
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    _register(
        core,
        {param_builders.validate_param_key(key): value},
        overwrite=False,
        save_in_span=save,
        target=target,
        sensitive=sensitive,
    )


def register_params(
    core: TracerCore,
    params: Mapping[str, Any],
    overwrite: bool,
    save_in_span: bool | Span,
    span: Span | None,
    sensitive: bool,
) -> None:
    """Upsert ``params`` (every key checked first), or replace the ParamSet with ``overwrite``."""
    if type(overwrite) is not bool and isinstance(overwrite, Span):  # Span is an ABC: slow check
        raise TypeError("overwrite must be a bool; got a Span: pass the span third, or as span=")
    if isinstance(save_in_span, bool):
        save = save_in_span
    else:
        save, span = span_in_flag_slot(save_in_span, span, "should_also_save_in_span")
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    _register(
        core,
        param_builders.validated_params(params),
        overwrite=overwrite,
        save_in_span=save,
        target=target,
        sensitive=sensitive,
    )


def get_params(core: TracerCore) -> dict[str, Any]:
    """The current trace's ParamSet, or with no active trace the tracer's defaults."""
    processor = core.processor
    target = trace.get_current_span()
    if processor is not None and is_local_span(target):
        state = processor.trace_state_of(target)
        if state is not None:
            processor.adopt(state, core.profile)
            return processor.params_of(state)
    return core.profile.copy_defaults()


def clear_params(core: TracerCore, clear_defaults: bool) -> None:
    """Empty the current trace's ParamSet; with no active trace, the tracer's defaults.

    With ``clear_defaults`` the tracer's defaults are emptied too, even inside a trace.
    """
    if clear_defaults:
        core.profile.update_defaults({}, overwrite=True)
    target = trace.get_current_span()
    if not target.is_recording() and _nothing_to_register(core, target, None):
        return
    _register(core, {}, overwrite=True, save_in_span=False, target=target)


def span_in_flag_slot(flag: object, span: Span | None, flag_name: str) -> tuple[bool, Span | None]:
    """Read a non-bool ``flag`` the way LastMile's documented calls mean it: ``(flag, span)``.

    LastMile documents both ``register_param(key, value, span)`` and
    ``register_param(key, value, should_also_save_in_span, span)`` (and
    ``register_params(params, overwrite, span)``), so a Span in the flag's
    place is the span, and the flag keeps its default (True). ``None`` there is
    LastMile's ``span=None``: the default flag, no span. A number counts as
    its truth, as it always did. Anything else is refused rather than read as
    truthy: a span taken for ``True`` would send the params to the current
    span instead of the one given.
    """
    if isinstance(flag, Span):
        if span is not None:
            raise TypeError(f"span given twice: once in the place of {flag_name} and once as span")
        return True, flag
    if flag is None:
        return True, span
    if isinstance(flag, int | float):
        return bool(flag), span
    raise TypeError(
        f"{flag_name} must be a bool (or the span, in its place); got {type(flag).__name__}"
    )


def overwrite_of(overwrite: bool, should_overwrite: bool | None) -> bool:
    """``overwrite``, or its 0.0.81 spelling ``should_overwrite`` when that is given.

    ``overwrite`` defaults to False, so only ``overwrite=True`` with
    ``should_overwrite=False`` is seen as a conflict.
    """
    if should_overwrite is None:
        return overwrite
    if type(should_overwrite) is not bool:
        raise TypeError(
            f"should_overwrite must be a bool or None; got {type(should_overwrite).__name__}"
        )
    if overwrite is True and not should_overwrite:
        raise TypeError(
            "overwrite and should_overwrite (its other spelling) disagree: pass only one"
        )
    return should_overwrite


# RAG helpers ----------------------------------------------------------------


def register_document_preprocess_params(
    core: TracerCore,
    chunk_size: int | None,
    chunk_strategy: str | None,
    extras: Mapping[str, Any] | None,
    save_in_span: bool,
    span: Span | None,
) -> None:
    """Register ``ingestion.chunk_size``, ``ingestion.chunk_strategy``, then ``extras``."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    params = param_builders.document_preprocess_params(chunk_size, chunk_strategy, extras)
    _register(core, params, overwrite=False, save_in_span=save_in_span, target=target)


def register_embedding_params(
    core: TracerCore,
    embedding_model: str | None,
    embedding_dimensions: int | None,
    extras: Mapping[str, Any] | None,
    save_in_span: bool,
    span: Span | None,
) -> None:
    """Register ``embedding.model``, ``embedding.dimensions``, then ``extras``."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    params = param_builders.embedding_params(embedding_model, embedding_dimensions, extras)
    _register(core, params, overwrite=False, save_in_span=save_in_span, target=target)


def register_query_processing_params(
    core: TracerCore,
    embedding_model: str | None,
    embedding_dimensions: int | None,
    decomposition_strategy: str | None,
    extras: Mapping[str, Any] | None,
    save_in_span: bool,
    span: Span | None,
) -> None:
    """Register ``query.embedding_model``, ``query.embedding_dimensions``,
    ``query.decomposition_strategy``, then ``extras``."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    params = param_builders.query_processing_params(
        embedding_model, embedding_dimensions, decomposition_strategy, extras
    )
    _register(core, params, overwrite=False, save_in_span=save_in_span, target=target)


def register_retrieval_params(
    core: TracerCore,
    top_k: int | None,
    reranking_model: str | None,
    extras: Mapping[str, Any] | None,
    save_in_span: bool,
    span: Span | None,
) -> None:
    """Register ``retrieval.top_k``, ``retrieval.reranking_model``, then ``extras``."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    params = param_builders.retrieval_params(top_k, reranking_model, extras)
    _register(core, params, overwrite=False, save_in_span=save_in_span, target=target)


def register_generation_params(
    core: TracerCore,
    model_params: Mapping[str, Any],
    extras: Mapping[str, Any] | None,
    save_in_span: bool,
    span: Span | None,
) -> None:
    """Register LLM settings as ``generation.<key>``, mirrored as ``gen_ai.request.*``."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    params, gen_ai = param_builders.generation_params(
        model_params,
        extras,
        max_length=core.capture.limits.max_length,
        mirror=save_in_span and target.is_recording(),
    )
    _register(core, params, overwrite=False, save_in_span=save_in_span, target=target, extra=gen_ai)


def register_generation_setting(
    core: TracerCore, name: str, value: Any, save_in_span: bool, span: Span | None
) -> None:
    """Register one LLM setting (``model``, ``temperature``...) as ``generation.<name>``."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    params, gen_ai = param_builders.generation_setting(
        name,
        value,
        core.capture.limits.max_length,
        mirror=save_in_span and target.is_recording(),
    )
    _register(core, params, overwrite=False, save_in_span=save_in_span, target=target, extra=gen_ai)


def register_ingestion_chunk_size(
    core: TracerCore, value: int, save_in_span: bool, span: Span | None
) -> None:
    """Register ``ingestion.chunk_size``."""
    _register_named(core, "ingestion.chunk_size", value, save_in_span, span)


def register_retrieval_top_k(
    core: TracerCore, value: int, save_in_span: bool, span: Span | None
) -> None:
    """Register ``retrieval.top_k``."""
    _register_named(core, "retrieval.top_k", value, save_in_span, span)


# Internals ------------------------------------------------------------------


def _register_named(
    core: TracerCore, key: str, value: Any, save_in_span: bool, span: Span | None
) -> None:
    """Register one param under a key ragtel names itself: there is no key to check."""
    target = span_or_current(span)
    if not target.is_recording() and _nothing_to_register(core, target, span):
        return
    _register(core, {key: value}, overwrite=False, save_in_span=save_in_span, target=target)


def _nothing_to_register(core: TracerCore, target: Span, span: Span | None) -> bool:
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
        return core.processor is None or (
            isinstance(target, NonRecordingSpan) and not context.is_remote
        )
    return span is not None or in_a_span()


def _register(
    core: TracerCore,
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
        core.profile.update_defaults(params, overwrite=overwrite, sensitive=sensitive)
        return
    processor = core.processor
    if processor is None:
        return  # not an SDK provider: there is no trace state to keep
    state = processor.trace_state_of(target, context.span_id)
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
    processor.adopt(state, core.profile)
    recorded = processor.update(
        state, params, capture=core.capture, overwrite=overwrite, sensitive=sensitive
    )
    if not save_in_span or not target.is_recording():
        return
    is_root = state.root_id == context.span_id
    attributes: dict[str, AttributeValue] = {} if is_root else dict(recorded)
    if extra:
        attributes.update(extra)
    if attributes:
        target.set_attributes(attributes)
