"""Pure builders of LLM call and image generation attributes.

Each function checks its arguments (raising TypeError or ValueError naming
the argument) and returns span attributes; nothing here touches a span.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from opentelemetry.util.types import AttributeValue

from ragtel._attributes.params import generation_params
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

URL_TYPES: Final = ("ephemeral", "permalink", "permalink_copy")
"""``ragtel.image.url_type`` values; ``permalink_copy`` is tatara's (a lasting copy)."""


def token_usage_attributes(
    input_tokens: object, output_tokens: object, cached_input_tokens: object
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


USAGE_KEYS: Final = {
    "input_tokens": "input_tokens",
    "prompt_tokens": "input_tokens",  # OpenAI's and Opik's name
    "output_tokens": "output_tokens",
    "completion_tokens": "output_tokens",  # OpenAI's and Opik's name
    "cached_input_tokens": "cached_input_tokens",
    "cached_tokens": "cached_input_tokens",
}
"""A usage mapping's keys (OpenAI's, Opik's and ragtel's) and the count each one gives."""
_DERIVED_USAGE: Final = frozenset({"total_tokens"})  # the sum of the others: not recorded


def usage_attributes(usage: Mapping[str, object]) -> tuple[dict[str, AttributeValue], list[str]]:
    """``gen_ai.usage.*`` from a usage mapping (``{"prompt_tokens": 12, ...}``).

    Returns the attributes and the keys it does not know (``total_tokens`` is
    known: it is the sum of the others). A count given twice (``input_tokens``
    and ``prompt_tokens``) raises ValueError naming ``usage``.
    """
    counts: dict[str, object] = {}
    unknown: list[str] = []
    for key, value in usage.items():
        # Keys compared as plain text: no __eq__ or __hash__ of theirs is called.
        text = str.__str__(key) if isinstance(key, str) else None
        name = USAGE_KEYS.get(text) if text is not None else None
        if name is None:
            if text not in _DERIVED_USAGE:
                unknown.append(text if text is not None else quoted(key))
            continue
        if name in counts:
            raise ValueError(f"usage gives {name} twice; got {quoted(dict(usage))}")
        counts[name] = value
    try:
        attributes = token_usage_attributes(
            counts.get("input_tokens"),
            counts.get("output_tokens"),
            counts.get("cached_input_tokens"),
        )
    except (TypeError, ValueError) as error:
        raise type(error)(f"usage: {error}") from None
    return attributes, unknown


def cost_attributes(total_cost: object) -> dict[str, AttributeValue]:
    """``ragtel.llm.cost`` (US dollars, as ``log_llm_call`` records it) from ``total_cost``."""
    number = _non_negative("total_cost", total_cost)
    return {} if number is None else {attrs.RAGTEL_LLM_COST: number}


def _non_negative(argument: str, value: object) -> float | None:
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


class LLMCall(NamedTuple):
    """One LLM call, as :meth:`~ragtel.LastMileTracer.log_llm_call` describes it.

    A value: typed for the checker, and checked again by
    :func:`llm_call_attributes` for callers that are not type-checked.
    ``latency`` is in seconds, ``cost`` in US dollars.
    """

    model: str
    operation: str = "chat"
    provider: str | None = None
    messages: object = None
    prompt: object = None
    output: object = None
    params: Mapping[str, object] | None = None
    finish_reason: str | Sequence[str] | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cost: float | None = None
    latency: float | None = None
    stream_chunks: Sequence[str] | None = None


def llm_call_attributes(call: LLMCall, *, capture: CaptureConfig) -> dict[str, AttributeValue]:
    """Every attribute of one LLM call (a pure builder: checks, encodes, touches no span).

    Raises TypeError or ValueError naming the first bad field.
    """
    max_length = capture.limits.max_length
    attributes, model, provider = _names(call, max_length)
    if call.params is not None:
        attributes.update(_request_settings(call.params, max_length))
    if call.finish_reason is not None:
        attributes[GEN_AI_RESPONSE_FINISH_REASONS] = _finish_reasons(call.finish_reason, max_length)
    attributes.update(_usage_and_cost(call))
    chunks = _stream_chunks(call.stream_chunks) if call.stream_chunks is not None else None
    if chunks is not None:
        attributes[attrs.RAGTEL_LLM_STREAM_CHUNK_COUNT] = len(chunks)
    if not capture.capture_content and not capture.openinference:
        return attributes  # the content is neither recorded nor mirrored: nothing to mask
    # The mask sees the request once, whole; every recorded form (and its mime
    # type) derives from what it returned.
    request = call.messages if call.messages is not None else call.prompt
    masked_request = (
        apply_mask(request, capture.mask)
        if capture.capture_content and request is not None
        else None
    )
    recorded_input = recorded_output = None
    if capture.capture_content:
        recorded_input, recorded_output = _recorded_io(call, masked_request, chunks, capture)
        attributes.update(_content(recorded_input, recorded_output, chunks, capture))
    if capture.openinference:
        # Lazy: OpenInference keys are built only in compatibility mode.
        from ragtel._attributes.openinference import llm as openinference_llm

        attributes.update(
            openinference_llm(
                model=model,
                provider=provider,
                # The same cleaning as everything recorded: mask, redaction, caps.
                invocation_parameters=masked_text(call.params, capture) if call.params else None,
                messages=_messages(
                    masked_request if call.messages is not None else None, capture.limits
                ),
                input_text=recorded_input,
                input_is_json=not isinstance(masked_request, str),
                output_text=recorded_output,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
            )
        )
    return attributes


def _names(call: LLMCall, max_length: int) -> tuple[dict[str, AttributeValue], str, str | None]:
    """The operation, model, provider and response model, checked and recorded as text.

    Returns the attributes, and the model and provider as recorded.
    """
    for argument, text in (("model", call.model), ("operation", call.operation)):
        if not isinstance(text, str) or not text:
            raise TypeError(f"{argument} must be a non-empty str; got {quoted(text)}")
    for argument, name in (("provider", call.provider), ("response_model", call.response_model)):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{argument} must be a str; got {quoted(name)}")
    # Names are recorded as text, cleaned and capped: a lone surrogate would
    # fail the whole export batch.
    model = clean_text(call.model, max_length)
    provider = clean_text(call.provider, max_length) if call.provider is not None else None
    attributes: dict[str, AttributeValue] = {
        GEN_AI_OPERATION_NAME: clean_text(call.operation, max_length),
        GEN_AI_REQUEST_MODEL: model,
    }
    if provider is not None:
        attributes[GEN_AI_PROVIDER_NAME] = provider
    if call.response_model is not None:
        attributes[GEN_AI_RESPONSE_MODEL] = clean_text(call.response_model, max_length)
    return attributes, model, provider


def _request_settings(params: Mapping[str, object], max_length: int) -> dict[str, AttributeValue]:
    """``gen_ai.request.*`` for the call's settings (the model is the call's own)."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping; got {type(params).__name__}")
    _, gen_ai = generation_params(params, None, max_length=max_length, argument="params")
    return {key: value for key, value in gen_ai.items() if key != GEN_AI_REQUEST_MODEL}


def _finish_reasons(finish_reason: str | Sequence[str], max_length: int) -> list[str]:
    reasons = (
        [finish_reason]
        if isinstance(finish_reason, str)
        else read_sequence(finish_reason, "finish_reason", expected="a str or a list of str")
    )
    if not all(isinstance(reason, str) for reason in reasons):
        raise TypeError(
            f"finish_reason must be a str or a list of str; got {quoted(finish_reason)}"
        )
    return [clean_text(reason, max_length) for reason in reasons]


def _stream_chunks(stream_chunks: Sequence[str]) -> list[str]:
    """The chunks of a streamed answer, listed (an iterator would be used up by the check)."""
    try:
        chunks = None if isinstance(stream_chunks, str) else list(stream_chunks)
    except Exception:  # noqa: BLE001 - not iterable, or its own methods broke
        chunks = None
    if chunks is None or not all(isinstance(chunk, str) for chunk in chunks):
        raise TypeError(f"stream_chunks must be a list of str; got {quoted(stream_chunks)}")
    return chunks


def _usage_and_cost(call: LLMCall) -> dict[str, AttributeValue]:
    """Token counts, cost and latency, checked."""
    attributes = token_usage_attributes(
        call.input_tokens, call.output_tokens, call.cached_input_tokens
    )
    for argument, value, key in (
        ("cost", call.cost, attrs.RAGTEL_LLM_COST),
        ("latency", call.latency, attrs.RAGTEL_LLM_LATENCY),
    ):
        number = _non_negative(argument, value)
        if number is not None:
            attributes[key] = number
    return attributes


def _recorded_io(
    call: LLMCall, masked_request: object, chunks: list[str] | None, capture: CaptureConfig
) -> tuple[str | None, str | None]:
    """The recorded input (the masked request) and output (the answer, or the chunks joined)."""
    recorded_input = (
        recorded_text(masked_request, capture.limits) if masked_request is not None else None
    )
    response = call.output if call.output is not None else ("".join(chunks) if chunks else None)
    recorded_output = masked_text(response, capture) if response is not None else None
    return recorded_input, recorded_output


def _content(
    recorded_input: str | None,
    recorded_output: str | None,
    chunks: list[str] | None,
    capture: CaptureConfig,
) -> dict[str, AttributeValue]:
    """The captured input, output and stream chunks (capped at the item limit)."""
    attributes: dict[str, AttributeValue] = {}
    if recorded_input is not None:
        attributes[attrs.RAGTEL_INPUT] = recorded_input
    if recorded_output is not None:
        attributes[attrs.RAGTEL_OUTPUT] = recorded_output
    if chunks:
        kept = chunks[: capture.limits.max_items]
        attributes[attrs.RAGTEL_LLM_STREAM_CHUNKS] = [masked_text(chunk, capture) for chunk in kept]
    return attributes


def image_attributes(
    *,
    image_url: str | None,
    image_url_type: str | None,
    image_data: bytes | str | None,
    image_format: str | None,
    capture: CaptureConfig,
) -> dict[str, AttributeValue]:
    """The image of a generation: by URL (preferred), or inline data, capped."""
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


def _messages(messages: object, limits: ValueLimits) -> list[tuple[str | None, str | None]]:
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
