"""What every RAG event builder shares: the :class:`EventRecord` it returns, and common parts.

A builder (:mod:`ragtel._attributes.rag`) turns one event's data into an
``EventRecord``: the event's name and attributes, and the attributes its span
gets (the step kind and the GenAI mirror). The helpers here add what every
event may carry (a name, metadata) and check the arguments every event takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, cast

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding.encoder import apply_mask, clean_text, encode_json, quoted
from ragtel._types import RAGEventType
from ragtel.semconv import attributes as attrs

Attributes = dict[str, AttributeValue]

Metadata = Mapping[str, object] | None
"""An event's metadata, as the tracer's methods take it."""


class EventRecord(NamedTuple):
    """One RAG event ready to record: the event, and what its span gets."""

    kind: RAGEventType
    event_name: str
    event_attributes: Attributes
    span_attributes: Attributes


def as_event_kind(kind: object) -> RAGEventType:
    """``kind`` as a :class:`RAGEventType`; ValueError listing the kinds there are."""
    try:
        return RAGEventType(kind)
    except Exception:  # noqa: BLE001 - Enum's own message repr()s the value, which may raise
        allowed = ", ".join(member.value for member in RAGEventType)
        raise ValueError(f"event_kind must be one of {allowed}; got {quoted(kind)}") from None


def add_name_and_metadata(
    attributes: Attributes, *, metadata: object, name: str | None, capture: CaptureConfig
) -> Any:
    """Add the event name and metadata; return the metadata as masked (None if not captured)."""
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str; got {type(name).__name__}")
        attributes[attrs.RAGTEL_EVENT_NAME] = clean_text(name, capture.limits.max_length)
    masked = captured(metadata, capture) if metadata is not None else None
    if masked is not None:
        attributes[attrs.RAGTEL_EVENT_METADATA] = encode_json(masked, capture.limits)
    return masked


def captured(value: object, capture: CaptureConfig) -> Any:
    """``value`` through the mask hook when content is captured, else None."""
    return apply_mask(value, capture.mask) if capture.capture_content else None


def step_attributes(kind: RAGEventType, **extra: AttributeValue) -> Attributes:
    """The span's step kind (``ragtel.span.kind``), and any GenAI attributes given."""
    return {attrs.RAGTEL_SPAN_KIND: kind.value, **extra}


def check_text(argument: str, value: object) -> None:
    """TypeError naming ``argument`` unless ``value`` is a str."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str; got {type(value).__name__}")


def recorded_text_of(attributes: Attributes, key: str) -> str | None:
    """The text an event recorded under ``key``, or None (not captured, or not given)."""
    value = attributes.get(key)
    return value if isinstance(value, str) else None


def recorded_texts_of(attributes: Attributes, key: str) -> list[str] | None:
    """The list of texts an event recorded under ``key``, or None."""
    value = attributes.get(key)
    # Lists under ragtel's text keys are built here, of str only.
    return cast("list[str]", value) if isinstance(value, list) else None


def recorded_contents_of(attributes: Attributes, key: str) -> list[str | None] | None:
    """The per-chunk texts an event recorded under ``key`` (None for a chunk without one)."""
    value = attributes.get(key)
    # Lists under ragtel's chunk keys are built here, of str and None only.
    return cast("list[str | None]", value) if isinstance(value, list) else None
