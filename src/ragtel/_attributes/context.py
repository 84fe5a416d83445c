"""Pure builders of labels: session, user, tags and metadata as span attributes.

Labels travel in the OpenTelemetry context (under :data:`CONTEXT_ATTRIBUTES_KEY`),
so they follow threads that copy the context and asyncio tasks, and ragtel's
span processor copies them onto each span as it starts: ``session.id``
(mirrored as ``gen_ai.conversation.id``), ``user.id``, ``ragtel.tags`` and
``ragtel.metadata.<key>``. The scope that puts them there is
:class:`ragtel._record.label_scope.AttributeScope`.

Scopes nest: an inner scope adds tags to the outer ones, overrides the outer
session or user, and merges metadata (:func:`merged`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from opentelemetry import context as context_api
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.params import validate_param_key
from ragtel._config import CaptureConfig, ValueLimits
from ragtel._encoding.arguments import (
    MORE,
    capped_texts,
    more_entries,
    read_mapping_head,
    report_cap,
)
from ragtel._encoding.encoder import apply_mask, clean_text, encode_attribute, quoted
from ragtel._encoding.redaction import REDACTED, is_sensitive_name
from ragtel.semconv.attributes import RAGTEL_METADATA_PREFIX, RAGTEL_TAGS
from ragtel.semconv.references import GEN_AI_CONVERSATION_ID, SESSION_ID, USER_ID

CONTEXT_ATTRIBUTES_KEY: Final = context_api.create_key("ragtel-context-attributes")

_EMPTY: Final[Mapping[str, AttributeValue]] = MappingProxyType({})


def current_context_attributes(
    context: context_api.Context | None = None,
) -> Mapping[str, AttributeValue]:
    """The context attributes in force in ``context`` (default: the current one)."""
    value = context_api.get_value(CONTEXT_ATTRIBUTES_KEY, context)
    return value if isinstance(value, Mapping) else _EMPTY


def context_attributes(
    *,
    session_id: str | None,
    user_id: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, object] | None,
    capture: CaptureConfig,
) -> dict[str, AttributeValue]:
    """Attributes for the given labels; raises TypeError/ValueError naming a bad argument."""
    attributes: dict[str, AttributeValue] = {}
    # Labels are recorded as text, cleaned and capped: a lone surrogate would
    # fail the export of every span they label.
    max_length = capture.limits.max_length
    if session_id is not None:
        _check_text("session_id", session_id)
        attributes[SESSION_ID] = attributes[GEN_AI_CONVERSATION_ID] = clean_text(
            session_id, max_length
        )
    if user_id is not None:
        _check_text("user_id", user_id)
        attributes[USER_ID] = clean_text(user_id, max_length)
    if tags is not None:
        attributes[RAGTEL_TAGS] = checked_tags(tags, capture.limits)
    if metadata is not None:
        attributes.update(metadata_attributes(metadata=metadata, capture=capture))
    return attributes


def metadata_attributes(
    *, metadata: Mapping[str, object], capture: CaptureConfig
) -> dict[str, AttributeValue]:
    """``ragtel.metadata.<key>`` attributes: the first ``max_items`` entries, then a count.

    Entries past the cap are neither read nor checked; ``ragtel.metadata.…``
    says how many were left out (an attribute per entry: a huge mapping would
    cost seconds per span, and overflow the span's attribute limit).
    """
    limits = capture.limits
    entries, total = read_mapping_head(metadata, "metadata", limits.max_items)
    attributes: dict[str, AttributeValue] = {}
    for key, value in entries.items():
        validate_param_key(key, argument="metadata key")
        if is_sensitive_name(key):
            encoded: AttributeValue | None = REDACTED
        else:
            encoded = encode_attribute(apply_mask(value, capture.mask), limits)
        if encoded is not None:
            attributes[RAGTEL_METADATA_PREFIX + key] = encoded
    if total > len(entries):
        report_cap("metadata entries", limits)
        attributes[RAGTEL_METADATA_PREFIX + MORE] = more_entries(total - len(entries))
    return attributes


def merged(
    outer: Mapping[str, AttributeValue], inner: Mapping[str, AttributeValue]
) -> Mapping[str, AttributeValue]:
    """``inner`` over ``outer``, with tags accumulated rather than replaced."""
    result = {**outer, **inner}
    outer_tags, inner_tags = outer.get(RAGTEL_TAGS), inner.get(RAGTEL_TAGS)
    if isinstance(outer_tags, (list, tuple)) and isinstance(inner_tags, (list, tuple)):
        result[RAGTEL_TAGS] = merged_tags(outer_tags, inner_tags, limits=_MERGE_LIMITS)
    return MappingProxyType(result)


# Tags were cleaned and capped when each scope was made; merging nested scopes
# only keeps the whole within the default caps.
_MERGE_LIMITS: Final = ValueLimits()


def checked_tags(tags: object, limits: ValueLimits) -> list[str]:
    """``tags`` as recorded texts, distinct and capped; TypeError naming tags.

    A generator is read once. At most ``max_items`` tags (and ``max_length``
    characters in all) are kept; a last item counts the others.
    """
    try:
        listed = (
            None if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable) else list(tags)
        )
    except Exception as error:  # noqa: BLE001 - the iterable's own methods broke
        raise TypeError(
            f"tags must be a sequence of str that can be read; reading it raised "
            f"{type(error).__name__}"
        ) from None
    if listed is None or not all(isinstance(tag, str) for tag in listed):
        raise TypeError(f"tags must be a sequence of str; got {quoted(tags)}")
    return merged_tags(listed, limits=limits)


def merged_tags(*tag_lists: Iterable[str], limits: ValueLimits) -> list[str]:
    """Distinct tags of each list in turn, capped (see :func:`checked_tags`).

    A list capped before ends with an item counting what it left out: those
    counts are carried into the new one.
    """
    distinct: dict[str, None] = {}
    left_out = 0
    for tags in tag_lists:
        for tag in tags:
            count = _left_out_count(tag)
            if count is None:
                distinct[tag] = None
            else:
                left_out += count
    return capped_texts(
        (clean_text(tag, limits.max_length) for tag in distinct),
        len(distinct),
        limits,
        "tags",
        left_out=left_out,
    )


def _left_out_count(tag: str) -> int | None:
    """N for the item ``…[N more tags]`` that ends a capped list, else None."""
    if not tag.startswith(f"{MORE}[") or not tag.endswith(" more tags]"):
        return None
    number = tag[2 : -len(" more tags]")]
    return int(number) if number.isdigit() else None


def _check_text(argument: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a non-empty str; got {quoted(value)}")
