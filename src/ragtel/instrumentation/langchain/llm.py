"""What a LangChain chat model or LLM call is recorded with: pure functions of callback values.

The start callback brings the model's invocation parameters and LangSmith's
standard metadata (``ls_model_name``, ``ls_provider``, ``ls_temperature``...);
the end callback brings an ``LLMResult``. Nothing here touches a span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

# Where each integration keeps its model name, in order of preference.
_MODEL_KEYS: Final = ("model", "model_name", "model_id", "deployment_name", "azure_deployment")

# Settings that describe a configuration (and so belong in a ParamSet), with
# the LangSmith metadata key that carries the same setting when the
# integration reports it there instead.
_SETTINGS: Final = {
    "temperature": "ls_temperature",
    "top_p": None,
    "top_k": None,
    "max_tokens": "ls_max_tokens",
    "max_completion_tokens": None,
    "frequency_penalty": None,
    "presence_penalty": None,
    "seed": None,
    "stop": "ls_stop",
    "n": None,
}

# LangChain message types and the chat roles they stand for.
_ROLES: Final = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "HumanMessageChunk": "user",
    "AIMessageChunk": "assistant",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
}
_AI_TYPES: Final = frozenset({"ai", "AIMessageChunk"})


@dataclass(slots=True)
class LlmRequest:
    """A model call as its start callback described it."""

    operation: str
    """GenAI operation: ``chat`` or ``text_completion``."""
    model: str
    provider: str | None
    settings: dict[str, Any]
    messages: Sequence[Any] | None = None
    prompt: str | None = None


@dataclass(slots=True)
class LlmResponse:
    output: Any = None
    finish_reason: str | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None


def llm_request(
    operation: str,
    serialized: Mapping[str, Any] | None,
    invocation_params: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    *,
    run_name: Any = None,
    messages: Sequence[Any] | None = None,
    prompt: str | None = None,
) -> LlmRequest:
    params = _mapping(invocation_params)
    meta = _mapping(metadata)
    return LlmRequest(
        operation=operation,
        model=model_name(params, meta, serialized, run_name),
        provider=_text(meta.get("ls_provider")),
        settings=generation_settings(params, meta),
        messages=messages,
        prompt=prompt,
    )


def model_name(
    params: Mapping[str, Any],
    metadata: Mapping[str, Any],
    serialized: Mapping[str, Any] | None,
    run_name: Any,
) -> str:
    """The model's name: from the call's parameters, LangSmith's metadata, else the model's type.

    Fake and custom models often name no model; their LangChain type
    (``generic-fake-chat-model``) or class name stands in for it.
    """
    for key in _MODEL_KEYS:
        if name := _text(params.get(key)):
            return name
    for candidate in (
        metadata.get("ls_model_name"),
        params.get("_type"),
        run_name,
        serialized.get("name") if isinstance(serialized, Mapping) else None,
    ):
        if name := _text(candidate):
            return name
    return "unknown"


def generation_settings(params: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The call's generation settings (temperature, max_tokens...), without request content."""
    settings: dict[str, Any] = {}
    for key, metadata_key in _SETTINGS.items():
        value = params.get(key)
        if value is None and metadata_key is not None:
            value = metadata.get(metadata_key)
        if _is_setting_value(value):
            settings[key] = value
    return settings


def _is_setting_value(value: Any) -> bool:
    if isinstance(value, (str, bool, int, float)):
        return True
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, str) for item in value)
    )


def chat_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """LangChain messages as ``{"role", "content"}`` dicts (with tool calls where present)."""
    converted = []
    for message in messages:
        # Only the attributes of the message's own type are read: a missing
        # attribute of a pydantic model is slow to fail.
        message_type = _text(getattr(message, "type", None))
        entry: dict[str, Any] = {
            "role": _ROLES.get(message_type, message_type) if message_type else None,
            "content": getattr(message, "content", None),
        }
        if message_type in _AI_TYPES:
            if tool_calls := getattr(message, "tool_calls", None):
                entry["tool_calls"] = [_tool_call(call) for call in tool_calls]
        elif message_type in ("tool", "ToolMessageChunk"):
            entry["tool_call_id"] = getattr(message, "tool_call_id", None)
        elif message_type == "chat":
            entry["role"] = getattr(message, "role", None)
        converted.append(entry)
    return converted


def _tool_call(call: Any) -> dict[str, Any]:
    if isinstance(call, Mapping):
        return {"id": call.get("id"), "name": call.get("name"), "arguments": call.get("args")}
    return {"name": repr(call)}


def llm_response(result: Any) -> LlmResponse:
    """The output, finish reason, response model and token usage of an ``LLMResult``."""
    response = LlmResponse()
    generations = getattr(result, "generations", None) or []
    first = generations[0] if generations else []
    llm_output = _mapping(getattr(result, "llm_output", None))
    outputs = [_generation_output(generation) for generation in first]
    if outputs:
        response.output = outputs[0] if len(outputs) == 1 else outputs
    message = getattr(first[0], "message", None) if first else None
    info = _mapping(getattr(first[0], "generation_info", None) if first else None)
    metadata = _mapping(getattr(message, "response_metadata", None))
    response.finish_reason = _text(
        info.get("finish_reason") or metadata.get("finish_reason") or metadata.get("stop_reason")
    )
    response.response_model = _text(
        metadata.get("model_name") or metadata.get("model") or llm_output.get("model_name")
    )
    _read_usage(response, getattr(message, "usage_metadata", None), llm_output)
    return response


def _generation_output(generation: Any) -> Any:
    message = getattr(generation, "message", None)
    if message is None:
        return getattr(generation, "text", None)
    is_ai = getattr(message, "type", None) in _AI_TYPES
    tool_calls = getattr(message, "tool_calls", None) if is_ai else None
    if tool_calls:
        return chat_messages([message])[0]
    return getattr(message, "content", None)


def _read_usage(response: LlmResponse, usage: Any, llm_output: Mapping[str, Any]) -> None:
    if type(usage) is dict or isinstance(usage, Mapping):
        response.input_tokens = _count(usage.get("input_tokens"))
        response.output_tokens = _count(usage.get("output_tokens"))
        details = usage.get("input_token_details")
        if isinstance(details, Mapping):
            response.cached_input_tokens = _count(details.get("cache_read"))
        return
    # Integrations that predate usage_metadata report it in llm_output:
    # OpenAI-style ``token_usage``, Anthropic-style ``usage``.
    for key, prompt_key, completion_key in (
        ("token_usage", "prompt_tokens", "completion_tokens"),
        ("usage", "input_tokens", "output_tokens"),
    ):
        counts = llm_output.get(key)
        if isinstance(counts, Mapping):
            response.input_tokens = _count(counts.get(prompt_key))
            response.output_tokens = _count(counts.get(completion_key))
            return


def _count(value: Any) -> int | None:
    """A token count OTLP can carry (a 64-bit int >= 0), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    # dict first: an ABC isinstance check costs more, and LangChain passes dicts.
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
