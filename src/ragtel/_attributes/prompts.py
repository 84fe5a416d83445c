"""Pure builders of the prompt-side RAG events: prompt composition, templating, synthesis.

The same shape as :mod:`ragtel._attributes.rag` (kept apart so neither file
grows past a screenful of builders): each ``*_record`` function validates its
arguments, raising TypeError naming the argument, and returns an
:class:`~ragtel._attributes.events.EventRecord` with the event, its
attributes, and the step kind (plus OpenInference's keys in compatibility
mode) for its span.
"""

from __future__ import annotations

from ragtel._attributes import openinference as oi
from ragtel._attributes.events import (
    Attributes,
    EventRecord,
    Metadata,
    add_name_and_metadata,
    captured,
    check_text,
    recorded_text_of,
    step_attributes,
)
from ragtel._config import CaptureConfig
from ragtel._encoding.encoder import masked_json, masked_text, recorded_text
from ragtel._types import RAGEventType
from ragtel.semconv import attributes as attrs
from ragtel.semconv import events


def prompt_composition_record(
    *,
    resolved_prompt: str,
    components: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A prompt composed from its parts; ``components`` (any JSON-able value) recorded as JSON."""
    check_text("resolved_prompt", resolved_prompt)
    attributes: Attributes = {}
    if capture.capture_content:
        attributes[attrs.RAGTEL_PROMPT_RESOLVED] = masked_text(resolved_prompt, capture)
        if components is not None:
            attributes[attrs.RAGTEL_PROMPT_COMPONENTS] = masked_json(components, capture)
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.PROMPT_COMPOSITION
    span_attributes = _span_attributes(
        kind,
        capture,
        input=recorded_text_of(attributes, attrs.RAGTEL_PROMPT_COMPONENTS),
        output=recorded_text_of(attributes, attrs.RAGTEL_PROMPT_RESOLVED),
        input_json=True,
    )
    return EventRecord(kind, events.RAGTEL_PROMPT_COMPOSITION_EVENT, attributes, span_attributes)


def template_record(
    *,
    prompt_template: str,
    resolved_prompt: str,
    system_prompt: str | None,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """A prompt template filled in: the template, the resolved prompt and the system prompt."""
    check_text("prompt_template", prompt_template)
    check_text("resolved_prompt", resolved_prompt)
    if system_prompt is not None:
        check_text("system_prompt", system_prompt)
    attributes: Attributes = {}
    if capture.capture_content:
        attributes[attrs.RAGTEL_PROMPT_TEMPLATE] = masked_text(prompt_template, capture)
        attributes[attrs.RAGTEL_PROMPT_RESOLVED] = masked_text(resolved_prompt, capture)
        if system_prompt is not None:
            attributes[attrs.RAGTEL_SYSTEM_PROMPT] = masked_text(system_prompt, capture)
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.TEMPLATING
    span_attributes = _span_attributes(
        kind,
        capture,
        input=recorded_text_of(attributes, attrs.RAGTEL_PROMPT_TEMPLATE),
        output=recorded_text_of(attributes, attrs.RAGTEL_PROMPT_RESOLVED),
    )
    return EventRecord(kind, events.RAGTEL_TEMPLATE_EVENT, attributes, span_attributes)


def synthesize_record(
    *,
    input: object,
    output: object,
    metadata: Metadata,
    name: str | None,
    capture: CaptureConfig,
) -> EventRecord:
    """An answer synthesized from retrieved data: its input and output, text or JSON."""
    # Masked once: the mime types below follow what the mask returned.
    masked_input, masked_output = captured(input, capture), captured(output, capture)
    attributes: Attributes = {}
    if capture.capture_content:
        if masked_input is not None:
            attributes[attrs.RAGTEL_INPUT] = recorded_text(masked_input, capture.limits)
        if masked_output is not None:
            attributes[attrs.RAGTEL_OUTPUT] = recorded_text(masked_output, capture.limits)
    add_name_and_metadata(attributes, metadata=metadata, name=name, capture=capture)
    kind = RAGEventType.SYNTHESIZE
    span_attributes = _span_attributes(
        kind,
        capture,
        input=recorded_text_of(attributes, attrs.RAGTEL_INPUT),
        output=recorded_text_of(attributes, attrs.RAGTEL_OUTPUT),
        input_json=not isinstance(masked_input, str),
        output_json=not isinstance(masked_output, str),
    )
    return EventRecord(kind, events.RAGTEL_SYNTHESIZE_EVENT, attributes, span_attributes)


def _span_attributes(
    kind: RAGEventType,
    capture: CaptureConfig,
    *,
    input: str | None,
    output: str | None,
    input_json: bool = False,
    output_json: bool = False,
) -> Attributes:
    """The step kind, and OpenInference's kind and input/output when that mode is on."""
    span_attributes = step_attributes(kind)
    if capture.openinference:
        span_attributes.update(oi.span_kind(kind))
        span_attributes.update(
            oi.io(input=input, output=output, input_json=input_json, output_json=output_json)
        )
    return span_attributes
