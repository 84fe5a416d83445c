"""What the LLM call and image generation methods of :class:`~ragtel.LastMileTracer` do.

An LLM call is recorded with the GenAI attributes (``gen_ai.request.*``,
``gen_ai.response.*``, ``gen_ai.usage.*``) plus ragtel's input, output, cost,
latency and, for a streamed response, its chunks. Its settings also join the
trace's ParamSet (as ``generation.<setting>``).

An image generation records its prompt, parameters and the image — by URL
(preferred) or as inline data. When the image is only ready later, log the
output against the context the generation returned: it lands in the same
trace, on a carrier span linked to the generation's span.

Each function takes the tracer's :class:`~ragtel._record.core.TracerCore`
first. The builders (``ragtel._attributes.generation``) are imported where
first used, so ``import ragtel`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from ragtel._context.handover import ContextLike, serialize_span_context
from ragtel._encoding.arguments import read_mapping
from ragtel._encoding.encoder import clean_text, masked_json, masked_text
from ragtel._record import params as _params
from ragtel._record.core import TracerCore
from ragtel._sdk.recording import DROPS_ALL, recording_target
from ragtel.semconv import attributes as attrs
from ragtel.semconv.references import GEN_AI_OPERATION_NAME, GEN_AI_REQUEST_MODEL
from ragtel.semconv.spans import RAGTEL_IMAGE_OUTPUT_SPAN


def log_llm_call(
    core: TracerCore,
    target: Span,
    *,
    model: str,
    output: Any,
    messages: Any,
    prompt: Any,
    provider: str | None,
    params: Mapping[str, Any] | None,
    finish_reason: str | Sequence[str] | None,
    response_model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_input_tokens: int | None,
    cost: float | None,
    latency: float | None,
    stream_chunks: Sequence[str] | None,
    operation: str,
) -> None:
    """Record an LLM call on ``target``, or on a ``{operation} {model}`` span below it.

    ``target`` is what :func:`~ragtel._sdk.recording.recording_target` found: the
    façade looks it up first, so a call that would record nothing costs no more
    than that look-up (this signature is wide, and passing it is not free).
    """
    if params is not None and type(params) is not dict:
        params = read_mapping(params, "params")  # read once: its own methods may raise
    from ragtel._attributes import generation as builders  # lazy: import ragtel stays cheap

    call = builders.LLMCall(
        model=model,
        provider=provider,
        operation=operation,
        messages=messages,
        prompt=prompt,
        output=output,
        params=params,
        finish_reason=finish_reason,
        response_model=response_model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached_input_tokens,
        cost=cost,
        latency=latency,
        stream_chunks=stream_chunks,
    )
    attributes = builders.llm_call_attributes(call, capture=core.capture)
    if not target.is_recording():
        # GenAI span naming: "{operation} {model}", from the recorded (cleaned) texts.
        name = f"{attributes[GEN_AI_OPERATION_NAME]!s} {attributes[GEN_AI_REQUEST_MODEL]!s}"
        target = core.delegate.start_span(name, kind=SpanKind.CLIENT)
        try:
            _record_llm(core, target, attributes, model, params)
        finally:
            target.end()
        return
    _record_llm(core, target, attributes, model, params)


def _record_llm(
    core: TracerCore,
    span: Span,
    attributes: Mapping[str, AttributeValue],
    model: str,
    params: Mapping[str, Any] | None,
) -> None:
    span.set_attributes(attributes)
    settings = {"model": model, **(params or {})}
    _params.register_generation_params(core, settings, None, False, span)


def log_image_generation(
    core: TracerCore,
    *,
    prompt: Any,
    params: Mapping[str, Any] | None,
    model: str | None,
    image_url: str | None,
    image_url_type: str | None,
    image_data: bytes | str | None,
    image_format: str | None,
    span: Span | None,
) -> str | None:
    """Record an image generation; return a context string for an output that comes later."""
    target = recording_target(span, core.reach)
    if target is None:
        return None  # nothing would record: as for a trace sampled out
    from ragtel._attributes import generation as builders  # lazy: import ragtel stays cheap

    capture = core.capture
    attributes: dict[str, AttributeValue] = builders.image_attributes(
        image_url=image_url,
        image_url_type=image_url_type,
        image_data=image_data,
        image_format=image_format,
        capture=capture,
    )
    if model is not None:
        if not isinstance(model, str):
            raise TypeError(f"model must be a str; got {type(model).__name__}")
        attributes[GEN_AI_REQUEST_MODEL] = clean_text(model, capture.limits.max_length)
    if capture.capture_content:
        attributes[attrs.RAGTEL_INPUT] = masked_text(prompt, capture)
    if params is not None:
        attributes[attrs.RAGTEL_IMAGE_PARAMS] = masked_json(params, capture)
    if target.is_recording():
        target.set_attributes(attributes)
        return serialize_span_context(target)
    own = core.delegate.start_span("generate_image", attributes=attributes)
    own.end()
    return serialize_span_context(own)


def log_image_output(
    core: TracerCore,
    context: ContextLike | None,
    *,
    image_url: str | None,
    image_url_type: str | None,
    image_data: bytes | str | None,
    image_format: str | None,
) -> None:
    """Record an image that arrived late, on a carrier span in the generation's trace."""
    if context is None or core.reach == DROPS_ALL:
        return  # the trace stays out, or nothing this tracer starts records
    from ragtel._context.carrier import emit_carrier_span, target_span_context

    target = target_span_context(context)
    if image_url is None and image_data is None:
        raise ValueError("log_image_output needs image_url or image_data")
    from ragtel._attributes import generation as builders  # lazy: import ragtel stays cheap

    attributes = builders.image_attributes(
        image_url=image_url,
        image_url_type=image_url_type,
        image_data=image_data,
        image_format=image_format,
        capture=core.capture,
    )
    emit_carrier_span(core.delegate, RAGTEL_IMAGE_OUTPUT_SPAN, target, attributes)
