"""What an OpenAI SDK call asks for, read from its keyword arguments.

Pure functions over the arguments of ``chat.completions.create`` and
``embeddings.create``. They never import openai, and never consume an
argument the SDK still has to read: messages given as a one-shot iterable (a
generator) are left untouched and not recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

CHAT_SETTINGS: Final = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "stop",
    "n",
    "reasoning_effort",
    "verbosity",
    "service_tier",
)
"""The chat arguments that configure the answer: what a ParamSet compares across traces."""

_SYSTEM_ROLES: Final = ("system", "developer")


@dataclass(frozen=True)
class ChatRequest:
    """A chat completion request, as recorded."""

    model: str
    messages: Sequence[Any] | None
    """The messages when given as a list or tuple; None when they cannot be read safely."""
    settings: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    query: str | None = None
    """The text of the last user message: the query of the query event."""
    system_prompt: str | None = None
    """The text of the first system (or developer) message."""


@dataclass(frozen=True)
class EmbeddingsRequest:
    """An embeddings request, as recorded."""

    model: str
    texts: list[str] | None
    """The input texts; None when the input is token ids."""
    dimensions: int | None = None
    """The ``dimensions`` argument, when given."""


def chat_request(kwargs: Mapping[str, Any]) -> ChatRequest | None:
    """The request of a ``chat.completions.create`` call; None without a model name."""
    model = kwargs.get("model")
    if not isinstance(model, str) or not model:
        return None
    messages = kwargs.get("messages")
    readable = messages if isinstance(messages, (list, tuple)) else None
    return ChatRequest(
        model=model,
        messages=readable,
        settings=chat_settings(kwargs),
        stream=kwargs.get("stream") is True,
        query=last_user_text(readable) if readable is not None else None,
        system_prompt=system_prompt(readable) if readable is not None else None,
    )


def chat_settings(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The settings given among :data:`CHAT_SETTINGS`, and the response format's type.

    Arguments left out reach the SDK as its ``NOT_GIVEN``/``omit`` sentinels
    (or None): only plain values are settings.
    """
    settings = {key: kwargs[key] for key in CHAT_SETTINGS if _is_plain_setting(kwargs.get(key))}
    response_format = kwargs.get("response_format")
    if isinstance(response_format, Mapping) and isinstance(response_format.get("type"), str):
        settings["response_format"] = response_format["type"]
    return settings


def _is_plain_setting(value: Any) -> bool:
    if isinstance(value, (str, int, float)):  # bool is an int
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def embeddings_request(kwargs: Mapping[str, Any]) -> EmbeddingsRequest | None:
    """The request of an ``embeddings.create`` call; None without a model name."""
    model = kwargs.get("model")
    if not isinstance(model, str) or not model:
        return None
    dimensions = kwargs.get("dimensions")
    return EmbeddingsRequest(
        model=model,
        texts=input_texts(kwargs.get("input")),
        dimensions=dimensions
        if isinstance(dimensions, int) and not isinstance(dimensions, bool)
        else None,
    )


def input_texts(value: Any) -> list[str] | None:
    """The texts of an embeddings input: a text or a list of texts (token ids are not text)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def field_of(item: Any, name: str) -> Any:
    """``item[name]`` of a mapping, ``item.name`` of an object (messages come as either)."""
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def message_text(message: Any) -> str | None:
    """A message's text: its content, or the text parts of a multi-part content, one per line."""
    content = field_of(message, "content")
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        texts = [
            text
            for part in content
            if field_of(part, "type") == "text" and isinstance(text := field_of(part, "text"), str)
        ]
        return "\n".join(texts) if texts else None
    return None


def last_user_text(messages: Sequence[Any]) -> str | None:
    """The text of the last ``user`` message (None if that message has no text)."""
    for message in reversed(messages):
        if field_of(message, "role") == "user":
            return message_text(message)
    return None


def system_prompt(messages: Sequence[Any]) -> str | None:
    """The text of the first ``system`` or ``developer`` message."""
    for message in messages:
        if field_of(message, "role") in _SYSTEM_ROLES:
            return message_text(message)
    return None


def provider_name(client: Any) -> str:
    """The GenAI provider name of the SDK client making the call."""
    # AzureOpenAI and AsyncAzureOpenAI subclass the OpenAI clients.
    names = {cls.__name__ for cls in type(client).__mro__}
    return "azure.ai.openai" if names & {"AzureOpenAI", "AsyncAzureOpenAI"} else "openai"
