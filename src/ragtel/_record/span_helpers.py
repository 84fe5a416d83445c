"""What the span conveniences of :class:`~ragtel.LastMileTracer` do (Tracium, Adaline, Opik habits).

They act on ``span=`` or the current span (a real OTel span), and do nothing
on a span that does not record: they return before checking or encoding
their arguments (``update_span`` still says which keys it would ignore).
Each function takes the tracer's :class:`~ragtel._record.core.TracerCore` first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.trace import Span, SpanContext, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.context import checked_tags, context_attributes, merged_tags
from ragtel._config import CaptureConfig
from ragtel._context.handover import ContextLike, span_or_current, to_context
from ragtel._encoding.arguments import read_mapping
from ragtel._encoding.encoder import (
    apply_mask,
    clean_text,
    encode_attribute,
    encode_json,
    plain_text,
    quoted,
)
from ragtel._record.core import TracerCore
from ragtel._types import RAGEventType
from ragtel.semconv import attributes as attrs
from ragtel.semconv.references import (
    ERROR_TYPE,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
)

# A year: enough for any finished operation, and a start time that stays positive.
_MAX_LATENCY: Final = 365 * 24 * 3600.0
_logger = logging.getLogger("ragtel")

STATUSES: Final = ("completed", "failed", "success", "error", "failure", "unknown")
"""Span statuses taken: ragtel's two, and Adaline's names for them (``unknown`` sets none)."""
_STATUS_ALIASES: Final = {
    "success": "completed",
    "unknown": "completed",  # the status stays unset, as for a completed span
    "error": "failed",
    "failure": "failed",
}
_OTHER_ERROR: Final = "_OTHER"


def _value_text(value: Any, capture: CaptureConfig) -> str:
    value = apply_mask(value, capture.mask)
    if isinstance(value, str):
        return clean_text(value, capture.limits.max_length)
    return encode_json(value, capture.limits)


def record_input(core: TracerCore, value: Any, span: Span | None) -> None:
    """Record ``value`` as the span's ``ragtel.input``."""
    target = _recording(span)
    if target is not None and core.capture.capture_content:
        target.set_attribute(attrs.RAGTEL_INPUT, _value_text(value, core.capture))


def record_output(core: TracerCore, value: Any, span: Span | None) -> None:
    """Record ``value`` as the span's ``ragtel.output``."""
    target = _recording(span)
    if target is not None and core.capture.capture_content:
        target.set_attribute(attrs.RAGTEL_OUTPUT, _value_text(value, core.capture))


def set_token_usage(
    core: TracerCore,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_input_tokens: int | None,
    span: Span | None,
) -> None:
    """Record token counts as ``gen_ai.usage.*``."""
    target = _recording(span)
    if target is None:
        return
    from ragtel._attributes import generation as builders  # lazy: import ragtel stays cheap

    target.set_attributes(
        builders.token_usage_attributes(input_tokens, output_tokens, cached_input_tokens)
    )


def add_tags(core: TracerCore, tags: Sequence[str], span: Span | None) -> None:
    """Add ``tags`` to the span's ``ragtel.tags``."""
    target = _recording(span)
    if target is None:
        return
    limits = core.capture.limits
    tags = checked_tags(tags, limits)
    existing = getattr(target, "attributes", None) or {}
    current = existing.get(attrs.RAGTEL_TAGS, ())
    target.set_attribute(attrs.RAGTEL_TAGS, merged_tags(current, tags, limits=limits))


def mark_failed(core: TracerCore, message: str, span: Span | None, error_type: str | None) -> None:
    """Set the span's status to ERROR with ``message`` (and ``error.type``)."""
    if not isinstance(message, str):
        raise TypeError(f"message must be a str; got {type(message).__name__}")
    if error_type is not None and not isinstance(error_type, str):
        raise TypeError(f"error_type must be a str; got {type(error_type).__name__}")
    target = _recording(span)
    if target is None:
        return
    max_length = core.capture.limits.max_length
    target.set_status(Status(StatusCode.ERROR, clean_text(message, max_length)))
    target.set_attribute(ERROR_TYPE, clean_text(error_type or _OTHER_ERROR, max_length))


def update_span(core: TracerCore, fields: Mapping[str, Any], span: Span | None) -> list[str]:
    """Apply the known keys of ``fields`` (``_UPDATE_KEYS``) to the span; return the others."""
    if type(fields) is not dict:  # read once: a Mapping's own methods may raise
        fields = read_mapping(fields, "fields")
    max_length = core.capture.limits.max_length
    ignored = (
        []
        if _UPDATE_KEYS.issuperset(fields)
        else sorted(plain_text(key, max_length) for key in fields if key not in _UPDATE_KEYS)
    )
    target = _recording(span)
    if target is None:
        return ignored  # nothing records: no check, no encoding
    from ragtel._attributes import generation as builders  # lazy: import ragtel stays cheap

    # Everything is checked before anything is written: a bad field leaves
    # the span as it was.
    status = fields.get("status")
    if status is not None:
        status = _checked_status(status)
    tags = fields.get("tags")
    if tags is not None:
        tags = checked_tags(tags, core.capture.limits)
    labels = (
        context_attributes(
            session_id=None,
            user_id=None,
            tags=None,
            metadata=fields["metadata"],
            capture=core.capture,
        )
        if "metadata" in fields
        else None
    )
    usage = builders.token_usage_attributes(
        fields.get("input_tokens"),
        fields.get("output_tokens"),
        fields.get("cached_input_tokens"),
    )
    model_call, usage_ignored = _model_call_attributes(core, fields)
    if usage_ignored:
        ignored = sorted([*ignored, *usage_ignored])
    if "input" in fields:
        record_input(core, fields["input"], target)
    if "output" in fields:
        record_output(core, fields["output"], target)
    if tags is not None:
        add_tags(core, tags, target)
    if labels is not None:
        target.set_attributes(labels)
    if "model" in fields:
        target.set_attribute(GEN_AI_REQUEST_MODEL, plain_text(fields["model"], max_length))
    target.set_attributes(model_call)  # Opik's usage, provider, total_cost and attributes
    target.set_attributes(usage)  # the explicit counts win over a usage mapping's
    error = fields.get("error")
    if status == "failed" or error is not None:
        message = plain_text(error, max_length) if error is not None else "failed"
        mark_failed(core, message, target, None)
    if ignored:
        target.set_attribute(attrs.RAGTEL_UPDATE_IGNORED_KEYS, ignored)
        _logger.warning("ragtel: update_span ignored unknown keys %s", ignored)
    return ignored


def record_span(
    core: TracerCore,
    name: str,
    *,
    kind: RAGEventType | str,
    input: Any,
    output: Any,
    latency: float | None,
    status: str,
    error: str | None,
    attributes: Mapping[str, AttributeValue] | None,
    context: ContextLike | None,
) -> SpanContext:
    """Record a finished operation as a span that started ``latency`` seconds ago."""
    kind_attributes = _kind_attributes(kind, core.capture.limits.max_length)
    status = _checked_status(status)
    if latency is not None and (
        isinstance(latency, bool)
        or not isinstance(latency, (int, float))
        or not 0 <= latency <= _MAX_LATENCY
    ):
        raise ValueError(
            f"latency must be a number of seconds from 0 to {_MAX_LATENCY:g}; got {quoted(latency)}"
        )
    if error is not None and not isinstance(error, str):
        raise TypeError(f"error must be a str; got {type(error).__name__}")
    end = time.time_ns()
    start = end - int((latency or 0) * 1e9)
    given: dict[str, AttributeValue] = {
        **(read_mapping(attributes, "attributes") if attributes is not None else {}),
        **kind_attributes,
    }
    span = core.delegate.start_span(name, to_context(context), attributes=given, start_time=start)
    try:
        if input is not None:
            record_input(core, input, span)
        if output is not None:
            record_output(core, output, span)
        if status == "failed" or error is not None:
            mark_failed(core, error or "failed", span, None)
    finally:
        span.end(end_time=end)
    return span.get_span_context()


_UPDATE_KEYS: Final = frozenset(
    {
        "input",
        "output",
        "tags",
        "metadata",
        "model",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "status",
        "error",
        # Opik's: recorded as log_llm_call records them.
        "usage",
        "provider",
        "total_cost",
        "attributes",
    }
)


# Other SDKs' span types (Tracium's) with a ragtel step or a GenAI operation of their own.
_SPAN_TYPES: Final[dict[str, tuple[RAGEventType, str | None]]] = {
    "llm": (RAGEventType.CUSTOM, "chat"),
    "tool": (RAGEventType.TOOL_CALL, "execute_tool"),
}


def _kind_attributes(kind: Any, max_length: int) -> dict[str, AttributeValue]:
    """``ragtel.span.kind`` for ``kind``; another SDK's type is also kept in ``ragtel.span.type``.

    A :class:`RAGEventType` value is the step itself; ``llm`` and ``tool``
    map to the nearest step and their GenAI operation; any other non-empty
    string (``plan``, ``action``, a custom type) is a ``custom`` step.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(
            "kind must be a RAGEventType value or a non-empty str (a span type); "
            f"got {quoted(kind)}"
        )
    text = str.__str__(kind)  # compared as plain text: no __eq__ or __hash__ of theirs
    if text in _STEP_VALUES:
        return {attrs.RAGTEL_SPAN_KIND: text}
    step, operation = _SPAN_TYPES.get(text, (RAGEventType.CUSTOM, None))
    attributes: dict[str, AttributeValue] = {
        attrs.RAGTEL_SPAN_KIND: step.value,
        attrs.RAGTEL_SPAN_TYPE: clean_text(text, max_length),
    }
    if operation is not None:
        attributes[GEN_AI_OPERATION_NAME] = operation
    return attributes


_STEP_VALUES: Final = frozenset(member.value for member in RAGEventType)


def _checked_status(status: Any) -> str:
    """``completed`` or ``failed``, Adaline's names (``_STATUS_ALIASES``) mapped onto them."""
    # Compared as plain text: an object's own __eq__ is not called.
    if not isinstance(status, str) or str.__str__(status) not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}; got {quoted(status)}")
    text = str.__str__(status)
    return _STATUS_ALIASES.get(text, text)


def _model_call_attributes(
    core: TracerCore, fields: Mapping[str, Any]
) -> tuple[dict[str, AttributeValue], list[str]]:
    """Opik's ``usage``, ``provider``, ``total_cost`` and ``attributes``, checked and encoded.

    Returns the attributes and the usage keys not known (as ``usage.<key>``).
    """
    from ragtel._attributes import generation as builders  # lazy: import ragtel stays cheap

    limits = core.capture.limits
    attributes: dict[str, AttributeValue] = {}
    ignored: list[str] = []
    if fields.get("usage") is not None:
        usage, unknown = builders.usage_attributes(read_mapping(fields["usage"], "usage"))
        attributes.update(usage)
        ignored = [f"usage.{plain_text(key, limits.max_length)}" for key in unknown]
    provider = fields.get("provider")
    if provider is not None:
        if not isinstance(provider, str) or not provider:
            raise TypeError(f"provider must be a non-empty str; got {quoted(provider)}")
        attributes[GEN_AI_PROVIDER_NAME] = clean_text(provider, limits.max_length)
    attributes.update(builders.cost_attributes(fields.get("total_cost")))
    if fields.get("attributes") is not None:
        for key, value in read_mapping(fields["attributes"], "attributes").items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"attributes keys must be non-empty str; got {quoted(key)}")
            encoded = encode_attribute(apply_mask(value, core.capture.mask), limits)
            if encoded is not None:
                attributes[clean_text(key, limits.max_length)] = encoded
    return attributes, ignored


def _recording(span: Span | None) -> Span | None:
    target = span_or_current(span)
    return target if target.is_recording() else None
