"""ParamSet keys and values: validation, attributes, and the RAG helpers' builders.

Every function here is pure: it turns arguments into a params dict (or
attributes) without touching a span, so each can be tested on its own.

The RAG helpers use stage-prefixed keys, so a pipeline's parameters read as
``ragtel.param.ingestion.chunk_size``, ``ragtel.param.retrieval.top_k``,
``ragtel.param.generation.temperature`` and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding.arguments import read_mapping
from ragtel._encoding.encoder import (
    apply_mask,
    clean_text,
    encode_attribute,
    marked_repr,
    quoted,
)
from ragtel._encoding.redaction import REDACTED, is_sensitive_name, may_hold_secrets
from ragtel.semconv.attributes import RAGTEL_PARAM_PREFIX
from ragtel.semconv.references import (
    GEN_AI_REQUEST_FREQUENCY_PENALTY,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_PRESENCE_PENALTY,
    GEN_AI_REQUEST_SEED,
    GEN_AI_REQUEST_STOP_SEQUENCES,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_REQUEST_TOP_K,
    GEN_AI_REQUEST_TOP_P,
)

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

# A memo of keys already checked (keys repeat on every trace): bounded in count and in
# key length, so keys from hostile input cannot grow it past ~0.5 MB.
_valid_keys: dict[str, bool] = {}
_VALID_KEYS_LIMIT: Final = 4096
_VALID_KEY_LENGTH: Final = 128


def validate_param_key(key: object, *, argument: str = "key") -> str:
    """Return ``key`` if it can name a param attribute; raise otherwise, quoting it.

    Any non-empty text is a key (``"chunk size"``, ``"a/b"``, ``"温度"``), as
    OpenTelemetry attribute keys and LastMile's params allow. Refused: text
    that is not valid Unicode (a lone surrogate), since OTLP carries keys as
    UTF-8 and one such key would make the exporter drop the whole batch; and
    text that looks like it holds a secret (``api_key=...``, a URL with a
    password), since a key is recorded verbatim, never redacted.
    """
    if type(key) is str and key in _valid_keys:
        return key  # keys repeat on every trace: skip the checks
    if not isinstance(key, str):
        raise TypeError(f"{argument} must be a str; got {type(key).__name__} {quoted(key)}")
    if not key:
        raise ValueError(f"{argument} must be a non-empty str; got {quoted(key)}")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{argument} must be valid Unicode text (no lone surrogates); got {quoted(key)}"
            ) from None
    if may_hold_secrets(key):
        raise ValueError(f"{argument} must not hold a secret; got {quoted(key)}")
    if len(_valid_keys) < _VALID_KEYS_LIMIT and len(key) <= _VALID_KEY_LENGTH:
        _valid_keys[key] = True
    return key


def validated_params(params: object, *, argument: str = "params") -> dict[str, Any]:
    """``params`` as a dict, every key checked first (so a bad key registers nothing)."""
    if not isinstance(params, Mapping):
        raise TypeError(
            f"{argument} must be a mapping of str to values; got {type(params).__name__}"
        )
    if type(params) is dict and all(type(key) is str and key in _valid_keys for key in params):
        return params.copy()  # keys seen before (they repeat on every trace): all valid
    label = f"{argument} key"
    entries = params if type(params) is dict else read_mapping(params, argument)
    return {validate_param_key(key, argument=label): value for key, value in entries.items()}


def param_attributes(
    params: Mapping[str, Any], capture: CaptureConfig
) -> dict[str, AttributeValue]:
    """``ragtel.param.<key>`` attributes for ``params``; None values are left out.

    Values under sensitive keys are redacted and every value goes through the
    mask hook, as all captured content does. A value with no JSON form is
    recorded as ``repr:`` and its redacted, bounded ``repr``.
    """
    attributes: dict[str, AttributeValue] = {}
    for key, value in params.items():
        if is_sensitive_name(key):
            encoded: AttributeValue | None = REDACTED
        else:
            masked = apply_mask(value, capture.mask)
            # A value with no JSON form (a client, a tokenizer) as its marked repr.
            encoded = marked_repr(masked, capture.limits)
            if encoded is None:
                encoded = encode_attribute(masked, capture.limits)
        if encoded is not None:
            attributes[RAGTEL_PARAM_PREFIX + key] = encoded
    return attributes


def _present(params: Mapping[str, Any], extras: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` without None values, then ``extras`` (validated) on top."""
    result = {key: value for key, value in params.items() if value is not None}
    if extras is not None:
        result.update(validated_params(extras, argument="extras"))
    return result


def document_preprocess_params(
    chunk_size: int | None, chunk_strategy: str | None, extras: Mapping[str, Any] | None
) -> dict[str, Any]:
    return _present(
        {"ingestion.chunk_size": chunk_size, "ingestion.chunk_strategy": chunk_strategy}, extras
    )


def embedding_params(
    embedding_model: str | None, embedding_dimensions: int | None, extras: Mapping[str, Any] | None
) -> dict[str, Any]:
    return _present(
        {"embedding.model": embedding_model, "embedding.dimensions": embedding_dimensions}, extras
    )


def query_processing_params(
    embedding_model: str | None,
    embedding_dimensions: int | None,
    decomposition_strategy: str | None,
    extras: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return _present(
        {
            "query.embedding_model": embedding_model,
            "query.embedding_dimensions": embedding_dimensions,
            "query.decomposition_strategy": decomposition_strategy,
        },
        extras,
    )


def retrieval_params(
    top_k: int | None, reranking_model: str | None, extras: Mapping[str, Any] | None
) -> dict[str, Any]:
    return _present(
        {"retrieval.top_k": top_k, "retrieval.reranking_model": reranking_model}, extras
    )


# Request content, not configuration: never part of a ParamSet.
_CONTENT_KEYS: Final = frozenset(
    {"messages", "prompt", "input", "instructions", "system", "suffix", "contents"}
)

# OpenAI-style keys and the GenAI request attribute each maps onto, with the
# attribute's type (GenAI declares top_k a double; stop becomes a string list).
_GEN_AI_REQUEST: Final = {
    "model": (GEN_AI_REQUEST_MODEL, str),
    "temperature": (GEN_AI_REQUEST_TEMPERATURE, float),
    "top_p": (GEN_AI_REQUEST_TOP_P, float),
    "top_k": (GEN_AI_REQUEST_TOP_K, float),
    "max_tokens": (GEN_AI_REQUEST_MAX_TOKENS, int),
    "max_completion_tokens": (GEN_AI_REQUEST_MAX_TOKENS, int),
    "frequency_penalty": (GEN_AI_REQUEST_FREQUENCY_PENALTY, float),
    "presence_penalty": (GEN_AI_REQUEST_PRESENCE_PENALTY, float),
    "seed": (GEN_AI_REQUEST_SEED, int),
    "stop": (GEN_AI_REQUEST_STOP_SEQUENCES, list),
}


def generation_params(
    model_params: Mapping[str, Any],
    extras: Mapping[str, Any] | None,
    *,
    max_length: int,
    argument: str = "model_params",
    mirror: bool = True,
) -> tuple[dict[str, Any], dict[str, AttributeValue]]:
    """The ParamSet entries of LLM settings, and their ``gen_ai.request.*`` mirror.

    Message and prompt content is left out. Values of the mapped keys that do
    not have the GenAI attribute's type (or do not fit it) are kept as params
    but not mirrored. Without ``mirror`` (no span to write it on) the mirror
    is empty. Errors name ``argument``.
    """
    if not isinstance(model_params, Mapping):
        raise TypeError(f"{argument} must be a mapping; got {type(model_params).__name__}")
    settings = {
        key: value
        for key, value in read_mapping(model_params, argument).items()
        if isinstance(key, str) and key not in _CONTENT_KEYS and value is not None
    }
    params = _present(
        {
            f"generation.{key}": value
            for key, value in validated_params(settings, argument=argument).items()
        },
        extras,
    )
    return params, _gen_ai_request_attributes(settings, max_length) if mirror else {}


def _gen_ai_request_attributes(
    settings: Mapping[str, Any], max_length: int
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    for key, value in settings.items():
        mapping = _GEN_AI_REQUEST.get(key)
        if mapping is None:
            continue
        attribute, kind = mapping
        converted = _as_type(value, kind, max_length)
        if converted is not None:
            attributes[attribute] = converted
    return attributes


def _as_type(value: Any, kind: type, max_length: int) -> AttributeValue | None:
    # Text is cleaned like all recorded text; numbers OTLP cannot carry (an int
    # no double holds, or past 64 bits) are not mirrored.
    if kind is str:
        return clean_text(value, max_length) if isinstance(value, str) else None
    if isinstance(value, bool):
        return None
    if kind is float:
        if not isinstance(value, (int, float)):
            return None
        try:
            return float(value)
        except OverflowError:
            return None
    if kind is int:
        return value if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX else None
    if isinstance(value, str):  # stop: one sequence or several
        return [clean_text(value, max_length)]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return [clean_text(item, max_length) for item in value]
    return None


def generation_setting(
    name: str, value: Any, max_length: int, *, mirror: bool = True
) -> tuple[dict[str, Any], dict[str, AttributeValue]]:
    """One generation setting (``model``, ``temperature``...) as a param and its GenAI mirror."""
    gen_ai = _gen_ai_request_attributes({name: value}, max_length) if mirror else {}
    return {f"generation.{name}": value}, gen_ai
