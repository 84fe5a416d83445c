"""What ragtel's instrumentors share: a ragtel tracer, and patches that come off cleanly."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from ragtel._factory import instrumentation_tracer
from ragtel._tracer import LastMileTracer

_logger = logging.getLogger("ragtel")

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]
"""A wrapt wrapper: ``(wrapped, instance, args, kwargs) -> result``."""

_MISSING = object()


class Patches:
    """Attributes replaced on a library's classes, each taken off again by :meth:`undo`.

    A wrapper is removed only while it is still the attribute's value. If
    another instrumentation wrapped it since, removing ours would remove
    theirs too, so ours is switched off instead and passes every call
    straight through.
    """

    def __init__(self) -> None:
        self._applied: list[tuple[Any, str, Any, Any]] = []
        self.active = True

    def wrap(self, owner: Any, name: str, wrapper: Wrapper) -> None:
        """Wrap ``owner.name`` (a function, method, classmethod or staticmethod)."""
        original = owner.__dict__.get(name, _MISSING)
        target = getattr(owner, name) if original is _MISSING else original

        def call_if_active(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
        ) -> Any:
            if not self.active:
                return wrapped(*args, **kwargs)
            return wrapper(wrapped, instance, args, kwargs)

        patched = wrapt.FunctionWrapper(target, call_if_active)
        setattr(owner, name, patched)
        self._applied.append((owner, name, original, patched))

    def replace(self, owner: Any, name: str, value: Any) -> None:
        """Set ``owner.name`` to ``value`` (a hook that is not a wrapper), restored by :meth:`undo`.

        Like a wrapper, ``value`` stays in place if something else replaced it
        since, so it should do nothing once :attr:`active` is False.
        """
        original = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, value)
        self._applied.append((owner, name, original, owner.__dict__.get(name)))

    def undo(self) -> None:
        self.active = False
        for owner, name, original, patched in reversed(self._applied):
            if owner.__dict__.get(name) is not patched:
                continue  # wrapped again by someone else: ours stays, switched off
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._applied.clear()


class RagtelInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A BaseInstrumentor recording through a ragtel tracer.

    ``instrument(tracer_provider=...)`` records to that provider, else to the
    global one (which ragtel creates, with its exporters, if the app has
    none). ``instrument()`` and ``uninstrument()`` are idempotent (the base
    class guards them), and ``uninstrument()`` takes every patch off.
    """

    scope_name: str
    """The instrumentation scope of the spans this instrumentor creates."""

    _tracer: LastMileTracer | None = None
    _patches: Patches | None = None

    def _instrument(self, **kwargs: Any) -> None:
        # opentelemetry-instrument skips the base class's version check: do it here.
        conflict = self._check_dependency_conflicts()
        if conflict is not None:
            _logger.warning("ragtel: %s not instrumented: %s", type(self).__name__, conflict)
            return
        provider: trace.TracerProvider | None = kwargs.get("tracer_provider")
        self._tracer = instrumentation_tracer(self.scope_name, provider)
        self._patches = Patches()
        self._patch(self._tracer, self._patches, **kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        patches, self._patches = self._patches, None
        if patches is not None:
            patches.undo()
            self._unpatch()
        self._tracer = None

    @abstractmethod
    def _patch(self, tracer: LastMileTracer, patches: Patches, **kwargs: Any) -> None:
        """Wrap the library's entry points through ``patches``, recording with ``tracer``."""

    def _unpatch(self) -> None:
        """Remove what ``_patch`` added other than wrappers (callback handlers, say)."""
