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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

from opentelemetry import context as context_api
from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding import apply_mask, clean_text, encode_attribute, quoted
from ragtel._params import validate_param_key
from ragtel._redaction import REDACTED, is_sensitive_name
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
        attributes[RAGTEL_TAGS] = list(dict.fromkeys(checked_tags(tags, max_length)))
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping; got {type(metadata).__name__}")
        for key, value in metadata.items():
            validate_param_key(key, argument="metadata key")
            if is_sensitive_name(key):
                encoded: AttributeValue | None = REDACTED
            else:
                encoded = encode_attribute(apply_mask(value, capture.mask), capture.limits)
            if encoded is not None:
                attributes[RAGTEL_METADATA_PREFIX + key] = encoded
    return attributes


def merged(
    outer: Mapping[str, AttributeValue], inner: Mapping[str, AttributeValue]
) -> Mapping[str, AttributeValue]:
    """``inner`` over ``outer``, with tags accumulated rather than replaced."""
    result = {**outer, **inner}
    outer_tags, inner_tags = outer.get(RAGTEL_TAGS), inner.get(RAGTEL_TAGS)
    if isinstance(outer_tags, (list, tuple)) and isinstance(inner_tags, (list, tuple)):
        result[RAGTEL_TAGS] = list(dict.fromkeys([*outer_tags, *inner_tags]))
    return MappingProxyType(result)


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


def checked_tags(tags: Any, max_length: int) -> list[str]:
    """``tags`` as a list of recorded texts (a generator is read once); TypeError naming tags."""
    listed = (
        None if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable) else list(tags)
    )
    if listed is None or not all(isinstance(tag, str) for tag in listed):
        raise TypeError(f"tags must be a sequence of str; got {quoted(tags)}")
    return [clean_text(tag, max_length) for tag in listed]


def _check_text(argument: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a non-empty str; got {quoted(value)}")
