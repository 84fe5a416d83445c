"""Pure builders: feedback in, the attributes that record it out.

Each ``*_value`` function validates one kind of feedback value (raising
TypeError or ValueError that says what was expected) and returns its
attributes: ragtel's typed value and the GenAI evaluation score.
:func:`feedback_attributes` adds what every kind shares. Nothing here touches
a span, so the same attributes go on an inline event or a carrier span.

Free text (text and JSON values, explanations, metadata) is content: it goes
through the mask hook and the size caps, and is left out when content capture
is off. The kind, the score, the category and the scope are always recorded.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Final

from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding.arguments import capped_texts, read_mapping
from ragtel._encoding.encoder import clean_text, masked_json, masked_text, quoted
from ragtel.semconv import attributes as attrs
from ragtel.semconv.attribute_values import (
    RagtelFeedbackAnnotatorValues,
    RagtelFeedbackKindValues,
    RagtelFeedbackScopeValues,
)
from ragtel.semconv.references import (
    GEN_AI_EVALUATION_EXPLANATION,
    GEN_AI_EVALUATION_NAME,
    GEN_AI_EVALUATION_SCORE_LABEL,
    GEN_AI_EVALUATION_SCORE_VALUE,
)

Attributes = dict[str, AttributeValue]

DEFAULT_NAME: Final = "feedback"
"""``gen_ai.evaluation.name`` when the caller names no feedback."""

ANNOTATORS: Final = tuple(member.value for member in RagtelFeedbackAnnotatorValues)
POSITIVE_LABEL: Final = "positive"
NEGATIVE_LABEL: Final = "negative"

_KIND = attrs.RAGTEL_FEEDBACK_KIND
_BINARY = RagtelFeedbackKindValues.BINARY.value
_NUMERIC = RagtelFeedbackKindValues.NUMERIC.value
_CATEGORICAL = RagtelFeedbackKindValues.CATEGORICAL.value
_TEXT = RagtelFeedbackKindValues.TEXT.value
_JSON = RagtelFeedbackKindValues.JSON.value

SCOPE_SPAN: Final = RagtelFeedbackScopeValues.SPAN.value
SCOPE_TRACE: Final = RagtelFeedbackScopeValues.TRACE.value
SCOPE_PROJECT: Final = RagtelFeedbackScopeValues.PROJECT.value


def binary_value(value: bool) -> Attributes:
    """True is positive, False negative. 1 and 0 are refused: they may be ratings."""
    if not isinstance(value, bool):
        kind = type(value)
        if kind.__module__ != "numpy" or kind.__name__ not in ("bool", "bool_"):  # numpy.bool_
            raise TypeError(
                "value must be a bool (True for positive, False for negative); "
                f"got {type(value).__name__} {quoted(value)}"
            )
        value = bool(value)
    return {
        _KIND: _BINARY,
        attrs.RAGTEL_FEEDBACK_VALUE_BINARY: value,
        GEN_AI_EVALUATION_SCORE_VALUE: 1.0 if value else 0.0,
        GEN_AI_EVALUATION_SCORE_LABEL: POSITIVE_LABEL if value else NEGATIVE_LABEL,
    }


def numeric_value(value: object, scale: object = None) -> Attributes:
    """A finite score, recorded as given, and the ``(low, high)`` scale it is on, if named.

    Opik scores and 1-5 stars are not 0-1, so any finite number is accepted;
    with ``scale`` the value must lie within it, both bounds included.
    """
    score = _real(value)
    if score is None:
        raise TypeError(
            "value must be a number, and finite (use log_binary_feedback for a bool); "
            f"got {type(value).__name__} {quoted(value)}"
        )
    if not math.isfinite(score):
        raise ValueError(f"value must be a finite number; got {quoted(value)}")
    attributes: Attributes = {
        _KIND: _NUMERIC,
        attrs.RAGTEL_FEEDBACK_VALUE_NUMERIC: score,
        GEN_AI_EVALUATION_SCORE_VALUE: score,
    }
    if scale is not None:
        low, high = _scale_bounds(scale)
        if not (low <= score <= high):
            raise ValueError(
                f"value must lie within scale ({low:g}, {high:g}); got {quoted(value)}"
            )
        attributes[attrs.RAGTEL_FEEDBACK_SCALE_MIN] = low
        attributes[attrs.RAGTEL_FEEDBACK_SCALE_MAX] = high
    return attributes


def _real(value: object) -> float | None:
    """A real number (not a bool) as a float, infinity when no double holds it; else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an int (or Fraction) no double holds: not finite for us
        return math.inf


def _scale_bounds(scale: object) -> tuple[float, float]:
    """``scale`` as ``(low, high)``: two finite numbers, low below high."""
    pair: list[object] | None = None
    if not isinstance(scale, (str, bytes)) and isinstance(scale, Sequence):
        try:
            pair = list(scale)  # read once: a Sequence's own methods may raise
        except Exception:  # noqa: BLE001 - the sequence's own methods broke
            pair = None
    if pair is None or len(pair) != 2:
        raise TypeError(
            "scale must be a (low, high) pair of numbers; "
            f"got {type(scale).__name__} {quoted(scale)}"
        )
    low, high = pair
    low_value, high_value = _real(low), _real(high)
    if low_value is None or high_value is None:
        bad = low if low_value is None else high
        raise TypeError(
            "scale must be a (low, high) pair of numbers; "
            f"got {type(bad).__name__} {quoted(bad)} in it"
        )
    if not (math.isfinite(low_value) and math.isfinite(high_value) and low_value < high_value):
        raise ValueError(
            f"scale must be (low, high) with finite bounds and low < high; got {quoted(scale)}"
        )
    return low_value, high_value


def categorical_value(value: str, categories: Sequence[str], capture: CaptureConfig) -> Attributes:
    """One of ``categories``: a non-empty sequence of distinct strings."""
    if isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence):
        raise TypeError(
            "categories must be a list of strings; "
            f"got {type(categories).__name__} {quoted(categories)}"
        )
    try:
        categories = list(categories)  # read once: a Sequence's own methods may raise
    except Exception as error:  # noqa: BLE001 - the sequence's own methods broke
        raise TypeError(
            f"categories must be a list of strings that can be read; reading it raised "
            f"{type(error).__name__}"
        ) from None
    if not categories:
        raise ValueError("categories must list at least one category; got an empty list")
    seen: set[str] = set()
    for category in categories:
        if not isinstance(category, str):
            raise TypeError(
                "categories must hold strings only; "
                f"got {type(category).__name__} {quoted(category)}"
            )
        text = str.__str__(category)  # compared as plain text: no __hash__ or __eq__ of theirs
        if text in seen:
            raise ValueError(
                f"categories must be distinct; {quoted(category)} appears more than once"
            )
        seen.add(text)
    if not isinstance(value, str):
        raise TypeError(f"value must be a str, one of the categories; got {type(value).__name__}")
    if str.__str__(value) not in seen:
        raise ValueError(
            f"value must be one of the categories {quoted(list(categories))}; got {quoted(value)}"
        )
    limits = capture.limits
    label = clean_text(value, limits.max_length)
    # Capped like any captured collection: every category is checked above,
    # but a list of a hundred thousand is not worth recording whole.
    recorded = capped_texts(
        (clean_text(category, limits.max_length) for category in categories),
        len(categories),
        limits,
        "categories",
    )
    return {
        _KIND: _CATEGORICAL,
        attrs.RAGTEL_FEEDBACK_VALUE_TEXT: label,
        attrs.RAGTEL_FEEDBACK_CATEGORIES: recorded,
        GEN_AI_EVALUATION_SCORE_LABEL: label,
    }


def text_value(value: str, capture: CaptureConfig, *, argument: str = "value") -> Attributes:
    """Free text that says something (not empty, not only whitespace)."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str; got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{argument} must be non-empty text; got {quoted(value)}")
    attributes: Attributes = {_KIND: _TEXT}
    if capture.capture_content:
        attributes[attrs.RAGTEL_FEEDBACK_VALUE_TEXT] = masked_text(value, capture)
    return attributes


def json_value(feedback: object, capture: CaptureConfig, scale: object = None) -> Attributes:
    """``log_feedback``'s value: a string is text feedback, a number a score, anything else JSON.

    A value JSON cannot represent is encoded with the fallback (its ``repr``),
    never dropped.
    """
    if isinstance(feedback, numbers.Real) and not isinstance(feedback, bool):
        return numeric_value(feedback, scale)  # a score, as log_numeric_feedback takes it
    if scale is not None:
        raise TypeError(
            f"scale applies to a numeric feedback only; got feedback of type "
            f"{type(feedback).__name__}"
        )
    if isinstance(feedback, str):
        return text_value(feedback, capture, argument="feedback")
    if feedback is None:
        raise TypeError("feedback must be a str or a JSON-serializable object (a dict); got None")
    attributes: Attributes = {_KIND: _JSON}
    if capture.capture_content:
        attributes[attrs.RAGTEL_FEEDBACK_VALUE_TEXT] = masked_json(feedback, capture)
    return attributes


def feedback_attributes(
    value_attributes: Attributes,
    *,
    name: str | None,
    annotator: str,
    explanation: str | None,
    metadata: Mapping[str, object] | None,
    capture: CaptureConfig,
) -> Attributes:
    """The attributes of one feedback: its value's, plus name, annotator and context."""
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise TypeError(f"name must be a non-empty str; got {quoted(name)}")
    # Compared as plain text: an object's own __eq__ is not called.
    if not isinstance(annotator, str) or str.__str__(annotator) not in ANNOTATORS:
        raise ValueError(
            f"annotator must be one of {', '.join(ANNOTATORS)}; got {quoted(annotator)}"
        )
    if explanation is not None and not isinstance(explanation, str):
        raise TypeError(f"explanation must be a str; got {type(explanation).__name__}")
    if metadata is not None:  # read once: a Mapping's own methods may raise
        metadata = read_mapping(metadata, "metadata")
    attributes = value_attributes
    attributes[GEN_AI_EVALUATION_NAME] = (
        DEFAULT_NAME if name is None else clean_text(name, capture.limits.max_length)
    )
    attributes[attrs.RAGTEL_FEEDBACK_ANNOTATOR] = str.__str__(annotator)
    if capture.capture_content:
        if explanation:
            attributes[GEN_AI_EVALUATION_EXPLANATION] = masked_text(explanation, capture)
        if metadata:
            attributes[attrs.RAGTEL_FEEDBACK_METADATA] = masked_json(metadata, capture)
    return attributes


def target_attribute(span_id: int) -> str:
    """``ragtel.feedback.target.span_id``: the judged span's id, as W3C hex."""
    return f"{span_id:016x}"
