"""Session, user, tags and metadata that apply to every span started in a scope.

They travel in the OpenTelemetry context, so they follow threads that copy the
context and asyncio tasks, and ragtel's span processor copies them onto each
span as it starts: ``session.id`` (mirrored as ``gen_ai.conversation.id``),
``user.id``, ``ragtel.tags`` and ``ragtel.metadata.<key>``.

Scopes nest: an inner scope adds tags to the outer ones, overrides the outer
session or user, and merges metadata.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

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
from ragtel._sdk.recording import DROPS_ALL
from ragtel.semconv.attributes import RAGTEL_METADATA_PREFIX, RAGTEL_TAGS
from ragtel.semconv.references import GEN_AI_CONVERSATION_ID, SESSION_ID, USER_ID

CONTEXT_ATTRIBUTES_KEY: Final = context_api.create_key("ragtel-context-attributes")

_EMPTY: Final[Mapping[str, AttributeValue]] = MappingProxyType({})

F = TypeVar("F", bound=Callable[..., Any])


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
    metadata: Mapping[str, Any] | None,
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
        attributes.update(metadata_attributes(metadata, capture))
    return attributes


def metadata_attributes(metadata: Any, capture: CaptureConfig) -> dict[str, AttributeValue]:
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


class AttributeScope:
    """A context manager that is also a decorator (of functions and coroutines alike).

    Entered inside a trace, the labels also reach the trace's local root, which
    started before the scope did (``on_enter`` does that).

    Example::

        with tracer.using_session("conv-42"):
            answer(question)

        @tracer.using_attributes(user_id="u-7", tags=["beta"])
        async def handle(request): ...
    """

    def __init__(
        self,
        attributes: Mapping[str, AttributeValue],
        on_enter: Callable[[Mapping[str, AttributeValue]], None] | None = None,
    ) -> None:
        self._attributes = attributes
        self._on_enter = on_enter
        # Per context, not per object: one scope object may be entered by
        # several asyncio tasks at once, each with its own token to detach.
        self._tokens: contextvars.ContextVar[tuple[object, ...]] = contextvars.ContextVar(
            "ragtel-scope-tokens", default=()
        )

    def __enter__(self) -> AttributeScope:
        self._tokens.set((*self._tokens.get(), _attach(self._attributes)))
        if self._on_enter is not None and self._attributes:
            self._on_enter(self._attributes)
        return self

    def __exit__(self, *exc_info: object) -> None:
        tokens = self._tokens.get()
        if not tokens:
            return
        *rest, token = tokens
        if token is not None:
            context_api.detach(token)  # type: ignore[arg-type]
        self._tokens.set(tuple(rest))

    def __call__(self, func: F) -> F:
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(
                "a context-attribute scope cannot decorate a generator function: use "
                "`with` inside it, around the work to label"
            )
        scope = self
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def scoped_coroutine(*args: Any, **kwargs: Any) -> Any:
                with scope:
                    return await func(*args, **kwargs)

            return cast(F, scoped_coroutine)

        @functools.wraps(func)
        def scoped(*args: Any, **kwargs: Any) -> Any:
            with scope:
                return func(*args, **kwargs)

        return cast(F, scoped)


class _UnusedLabels(AttributeScope):
    """The scope of labels no span could record: it does nothing, entered or as a decorator."""

    def __init__(self) -> None:
        super().__init__(_EMPTY)

    def __enter__(self) -> AttributeScope:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __call__(self, func: F) -> F:
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            return super().__call__(func)  # the same TypeError as a scope that labels
        return func


UNUSED_LABELS: Final[AttributeScope] = _UnusedLabels()
"""Shared by every scope whose labels nothing could record."""


def labels_unused(reach: int, sdk_is_disabled: bool) -> bool:
    """True when labels would reach no recorded span and no other service.

    Decided before the labels are looked at, so that tracing turned off costs
    nothing: with ``OTEL_SDK_DISABLED`` no span records anywhere; a tracer
    whose spans all drop (see ``_recording.sampling_reach``) records none,
    and its labels go nowhere else unless ragtel's propagator sends them on.
    """
    if sdk_is_disabled:
        return True
    if reach != DROPS_ALL:
        return False
    propagation = sys.modules.get("ragtel._context.propagation")  # loaded only when enabled
    return propagation is None or not propagation.enabled()


def _attach(attributes: Mapping[str, AttributeValue]) -> object | None:
    if not attributes:
        return None
    combined = merged(current_context_attributes(), attributes)
    return context_api.attach(context_api.set_value(CONTEXT_ATTRIBUTES_KEY, combined))


@contextlib.contextmanager
def attached(attributes: Mapping[str, AttributeValue]) -> Iterator[None]:
    """Make ``attributes`` apply, merged with the current ones, until the block ends."""
    token = _attach(attributes)
    try:
        yield
    finally:
        if token is not None:
            context_api.detach(token)  # type: ignore[arg-type]


def checked_tags(tags: Any, limits: ValueLimits) -> list[str]:
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


def _check_text(argument: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a non-empty str; got {quoted(value)}")
