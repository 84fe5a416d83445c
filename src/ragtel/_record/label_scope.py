"""The scope that keeps labels (session, user, tags, metadata) in force, and when to skip it.

An :class:`AttributeScope` attaches labels to the OpenTelemetry context while
it is entered, so every span started inside it carries them (ragtel's span
processor copies them on). :func:`labels_unused` decides, before any label is
read, whether labels could reach anything at all; when not,
:data:`UNUSED_LABELS` stands in and costs nothing.

Scopes nest: an inner scope adds tags to the outer ones, overrides the outer
session or user, and merges metadata (:func:`ragtel._attributes.context.merged`).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

from opentelemetry import context as context_api
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.context import (
    CONTEXT_ATTRIBUTES_KEY,
    current_context_attributes,
    merged,
)
from ragtel._sdk.recording import DROPS_ALL
from ragtel._state import STATE

F = TypeVar("F", bound=Callable[..., Any])

_NO_LABELS: Final[Mapping[str, AttributeValue]] = MappingProxyType({})


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
        super().__init__(_NO_LABELS)

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
    whose spans all drop (see ``ragtel._sdk.recording.sampling_reach``)
    records none, and its labels go nowhere else unless ragtel's propagator
    (switched on by ``propagate_params``) sends them on.
    """
    if sdk_is_disabled:
        return True
    if reach != DROPS_ALL:
        return False
    return STATE.propagator is None


def _attach(attributes: Mapping[str, AttributeValue]) -> object | None:
    if not attributes:
        return None
    combined = merged(current_context_attributes(), attributes)
    return context_api.attach(context_api.set_value(CONTEXT_ATTRIBUTES_KEY, combined))
