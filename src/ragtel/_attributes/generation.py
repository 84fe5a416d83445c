"""Pure builders of LLM call and image generation attributes.

Each function checks its arguments (raising TypeError or ValueError naming
the argument) and returns span attributes; nothing here touches a span.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._attributes import params as _params
from ragtel._config import CaptureConfig, ValueLimits
from ragtel._encoding.arguments import read_sequence
from ragtel._encoding.encoder import apply_mask, clean_text, masked_text, quoted, recorded_text
from ragtel.semconv import attributes as attrs
from ragtel.semconv.references import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)

_logger = logging.getLogger("ragtel")

_INT64_MAX: Final = 2**63 - 1  # OTLP ints are 64-bit: a larger count cannot be exported

URL_TYPES: Final = ("ephemeral", "permalink")


def token_usage_attributes(
    input_tokens: Any, output_tokens: Any, cached_input_tokens: Any
) -> dict[str, AttributeValue]:
    """``gen_ai.usage.*`` for the counts given; TypeError/ValueError naming a bad one."""
    attributes: dict[str, AttributeValue] = {}
    for argument, value, key in (
        ("input_tokens", input_tokens, GEN_AI_USAGE_INPUT_TOKENS),
        ("output_tokens", output_tokens, GEN_AI_USAGE_OUTPUT_TOKENS),
        ("cached_input_tokens", cached_input_tokens, GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{argument} must be an int; got {quoted(value)}")
        if value < 0:
            raise ValueError(f"{argument} must be >= 0; got {quoted(value)}")
        if value > _INT64_MAX:
            raise ValueError(f"{argument} must be below 2**63 (OTLP ints); got {quoted(value)}")
        attributes[key] = value
    return attributes


def _non_negative(argument: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{argument} must be a number; got {quoted(value)}")
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{argument} must be a number >= 0; got {quoted(value)}")
    try:
        return float(value)
    except OverflowError:  # an int no double holds
        raise ValueError(f"{argument} must fit a double; got {quoted(value)}") from None


def llm_call_attributes(
    *,
    model: Any,
    provider: Any,
    operation: Any,
    messages: Any,
    prompt: Any,
    output: Any,
    params: Any,
    finish_reason: Any,
    response_model: Any,
    input_tokens: Any,
    output_tokens: Any,
    cached_input_tokens: Any,
    cost: Any,
    latency: Any,
    stream_chunks: Any,
    capture: CaptureConfig,
) -> dict[str, AttributeValue]:
    """Every attribute of one LLM call (a pure builder: checks, encodes, touches no span)."""
    for argument, value in (("model", model), ("operation", operation)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{argument} must be a non-empty str; got {quoted(value)}")
    for argument, value in (("provider", provider), ("response_model", response_model)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a str; got {quoted(value)}")
    # Names are recorded as text, cleaned and capped: a lone surrogate would
    # fail the whole export batch.
    max_length = capture.limits.max_length
    model = clean_text(model, max_length)
    provider = clean_text(provider, max_length) if provider is not None else None
    attributes: dict[str, AttributeValue] = {
        GEN_AI_OPERATION_NAME: clean_text(operation, max_length),
        GEN_AI_REQUEST_MODEL: model,
    }
    if provider is not None:
        attributes[GEN_AI_PROVIDER_NAME] = provider
    if response_model is not None:
        attributes[GEN_AI_RESPONSE_MODEL] = clean_text(response_model, max_length)
    if params is not None:
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping; got {type(params).__name__}")
        _, gen_ai = _params.generation_params(
            params, None, max_length=max_length, argument="params"
        )
        attributes.update({k: v for k, v in gen_ai.items() if k != GEN_AI_REQUEST_MODEL})
    if finish_reason is not None:
        reasons = (
            [finish_reason]
            if isinstance(finish_reason, str)
            else read_sequence(finish_reason, "finish_reason", expected="a str or a list of str")
        )
        if not isinstance(reasons, Sequence) or not all(isinstance(r, str) for r in reasons):
            raise TypeError(
                f"finish_reason must be a str or a list of str; got {quoted(finish_reason)}"
            )
        attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [clean_text(r, max_length) for r in reasons]
    attributes.update(token_usage_attributes(input_tokens, output_tokens, cached_input_tokens))
    for argument, value, key in (
        ("cost", cost, attrs.RAGTEL_LLM_COST),
        ("latency", latency, attrs.RAGTEL_LLM_LATENCY),
    ):
        number = _non_negative(argument, value)
        if number is not None:
            attributes[key] = number
    chunks: list[str] | None = None
    if stream_chunks is not None:
        # Listed first: an iterator would be used up by the check.
        try:
            chunks = None if isinstance(stream_chunks, str) else list(stream_chunks)
        except Exception:  # noqa: BLE001 - not iterable, or its own methods broke
            chunks = None
        if chunks is None or not all(isinstance(c, str) for c in chunks):
            raise TypeError(f"stream_chunks must be a list of str; got {quoted(stream_chunks)}")
        attributes[attrs.RAGTEL_LLM_STREAM_CHUNK_COUNT] = len(chunks)
    # The mask sees the request once, whole; every recorded form (and its mime
    # type) derives from what it returned.
    request = messages if messages is not None else prompt
    masked_request = (
        apply_mask(request, capture.mask)
        if capture.capture_content and request is not None
        else None
    )
    masked_messages = masked_request if messages is not None else None
    if capture.capture_content:
        if masked_request is not None:
            attributes[attrs.RAGTEL_INPUT] = recorded_text(masked_request, capture.limits)
        response = output if output is not None else ("".join(chunks) if chunks else None)
        if response is not None:
            attributes[attrs.RAGTEL_OUTPUT] = masked_text(response, capture)
        if chunks:
            kept = chunks[: capture.limits.max_items]
            attributes[attrs.RAGTEL_LLM_STREAM_CHUNKS] = [
                masked_text(chunk, capture) for chunk in kept
            ]
    if capture.openinference:
        from ragtel._attributes import openinference as _openinference

        attributes.update(
            _openinference.llm(
                model=model,
                provider=provider,
                # The same cleaning as everything recorded: mask, redaction, caps.
                invocation_parameters=masked_text(params, capture) if params else None,
                messages=_messages(masked_messages, capture.limits),
                input_text=attributes.get(attrs.RAGTEL_INPUT),  # type: ignore[arg-type]
                input_is_json=not isinstance(masked_request, str),
                output_text=attributes.get(attrs.RAGTEL_OUTPUT),  # type: ignore[arg-type]
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        )
    return attributes


def image_attributes(
    *,
    image_url: Any,
    image_url_type: Any,
    image_data: Any,
    image_format: Any,
    capture: CaptureConfig,
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    if image_url is not None:
        if not isinstance(image_url, str) or not image_url:
            raise TypeError(f"image_url must be a non-empty str; got {quoted(image_url)}")
        attributes[attrs.RAGTEL_IMAGE_URL] = clean_text(image_url, capture.limits.max_length)
    if image_url_type is not None:
        if image_url_type not in URL_TYPES:
            raise ValueError(
                f"image_url_type must be one of {URL_TYPES}; got {quoted(image_url_type)}"
            )
        attributes[attrs.RAGTEL_IMAGE_URL_TYPE] = image_url_type
    if image_data is not None:
        if not isinstance(image_format, str) or not image_format:
            raise ValueError("image_format must name the format of image_data (e.g. 'png')")
        if isinstance(image_data, (bytes, bytearray, memoryview)):
            text = _capped_base64(
                bytes(image_data[: capture.limits.max_length]),
                len(image_data),
                capture.limits.max_length,
            )
        elif isinstance(image_data, str):
            text = clean_text(image_data, capture.limits.max_length)
        else:
            raise TypeError(
                f"image_data must be bytes or a base64 str; got {type(image_data).__name__}"
            )
        _logger.warning(
            "ragtel: recording inline image data (%d characters kept) makes spans heavy; "
            "prefer image_url",
            len(text),
        )
        attributes[attrs.RAGTEL_IMAGE_DATA] = text
        attributes[attrs.RAGTEL_IMAGE_FORMAT] = clean_text(image_format, capture.limits.max_length)
    return attributes


def _capped_base64(head: bytes, total: int, max_length: int) -> str:
    """Base64 of the first bytes of an image, cut to ``max_length`` with a visible marker."""
    text = base64.b64encode(head).decode("ascii")
    if len(text) <= max_length and len(head) == total:
        return text
    marker = f"…[truncated, {total} bytes in all]"
    kept = max(max_length - len(marker), 0) // 4 * 4  # whole base64 quanta only
    return (text[:kept] + marker)[:max_length]


def _messages(messages: Any, limits: ValueLimits) -> list[tuple[str | None, str | None]]:
    """(role, recorded content) of already masked chat messages, capped at the item limit."""
    if not isinstance(messages, Sequence) or isinstance(messages, str):
        return []
    cleaned = []
    for message in list(messages)[: limits.max_items]:
        if isinstance(message, Mapping):
            role, content = message.get("role"), message.get("content")
            cleaned.append(
                (
                    role if isinstance(role, str) else None,
                    recorded_text(content, limits) if content is not None else None,
                )
            )
    return cleaned
