"""What an OpenAI SDK call returned: text, finish reasons, model, token usage, vectors.

Pure readers of the SDK's response objects (``ChatCompletion``,
``ChatCompletionChunk``, ``CreateEmbeddingResponse``), by attribute, so that
fields missing from older SDK versions read as absent instead of failing.
"""

from __future__ import annotations

import array
import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtel.instrumentation.openai.request import field_of


@dataclass(frozen=True)
class Usage:
    """Token counts of a call; None where the response has none."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None


@dataclass(frozen=True)
class ChatResult:
    """A chat completion's answer, one entry per choice in choice order."""

    texts: list[str | None]
    """Each choice's text (None for a choice with no text, such as a tool call)."""
    outputs: list[Any]
    """Each choice's text, or its whole message when it has no text."""
    finish_reasons: list[str]
    response_model: str | None = None
    usage: Usage = field(default_factory=Usage)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_of(usage: Any) -> Usage:
    """Token counts of a ``usage`` object (chat and embeddings both name them ``prompt_tokens``)."""
    if usage is None:
        return Usage()
    details = field_of(usage, "prompt_tokens_details")
    return Usage(
        input_tokens=_count(field_of(usage, "prompt_tokens")),
        output_tokens=_count(field_of(usage, "completion_tokens")),
        cached_input_tokens=_count(field_of(details, "cached_tokens")) if details else None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def chat_result(completion: Any) -> ChatResult:
    """The answer of a ``ChatCompletion``."""
    choices = sorted(field_of(completion, "choices") or [], key=lambda c: _index(c))
    texts: list[str | None] = []
    outputs: list[Any] = []
    for choice in choices:
        message = field_of(choice, "message")
        text = _text(field_of(message, "content"))
        texts.append(text)
        outputs.append(text if text is not None else message)
    return ChatResult(
        texts=texts,
        outputs=outputs,
        finish_reasons=[r for c in choices if (r := _text(field_of(c, "finish_reason")))],
        response_model=_text(field_of(completion, "model")),
        usage=usage_of(field_of(completion, "usage")),
    )


def _index(choice: Any) -> int:
    index = field_of(choice, "index")
    return index if isinstance(index, int) else 0


class StreamAccumulator:
    """Gathers a chat stream's chunks into the answer they spell, as they arrive."""

    def __init__(self) -> None:
        self._pieces: dict[int, list[str]] = {}
        self._finish_reasons: dict[int, str] = {}
        self._model: str | None = None
        self._usage = Usage()

    def add(self, chunk: Any) -> None:
        """Take in one ``ChatCompletionChunk``."""
        if self._model is None:
            self._model = _text(field_of(chunk, "model")) or None
        for choice in field_of(chunk, "choices") or []:
            index = _index(choice)
            content = _text(field_of(field_of(choice, "delta"), "content"))
            if content:
                self._pieces.setdefault(index, []).append(content)
            reason = _text(field_of(choice, "finish_reason"))
            if reason:
                self._finish_reasons[index] = reason
        usage = field_of(chunk, "usage")
        if usage is not None:  # the last chunk, with stream_options={"include_usage": True}
            self._usage = usage_of(usage)

    @property
    def first_choice_pieces(self) -> list[str]:
        """The content deltas of the first choice, in order: the stream's chunks."""
        return list(self._pieces.get(0, []))

    def result(self) -> ChatResult:
        indexes = sorted({0, *self._pieces, *self._finish_reasons})
        texts: list[str | None] = [
            "".join(self._pieces[i]) if i in self._pieces else None for i in indexes
        ]
        return ChatResult(
            texts=texts,
            outputs=list(texts),
            finish_reasons=[self._finish_reasons[i] for i in indexes if i in self._finish_reasons],
            response_model=self._model,
            usage=self._usage,
        )


def embedding_vectors(response: Any) -> list[Sequence[float]]:
    """The vectors of a ``CreateEmbeddingResponse``, in input order.

    A vector asked for as ``encoding_format="base64"`` is decoded (little-endian float32).
    """
    items = sorted(field_of(response, "data") or [], key=_index)
    vectors: list[Sequence[float]] = []
    for item in items:
        embedding = field_of(item, "embedding")
        if isinstance(embedding, str):
            vectors.append(array.array("f", base64.b64decode(embedding)).tolist())
        elif isinstance(embedding, Sequence):
            vectors.append(embedding)
    return vectors


def response_model(response: Any) -> str | None:
    return _text(field_of(response, "model")) or None
