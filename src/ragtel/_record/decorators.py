"""Decorators that trace a function and record its input and output.

The wrapped function may be a plain function, a coroutine function, a
generator function or an async generator function, and may be a method,
classmethod or staticmethod. For generators the span covers the whole
iteration: it starts at the first ``next()`` and ends exactly once, on
exhaustion, ``close()``/``aclose()``, an exception or cancellation; the
output is the list of yielded items, capped.

Exceptions are recorded on the span and re-raised unchanged. Cancellation
and ``GeneratorExit`` end the span without marking it failed, as the OTel
SDK does for ``BaseException`` subclasses that are not errors.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import traceback
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, Final, NamedTuple, TypeVar, cast

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_ESCAPED,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.util import types
from opentelemetry.util.types import AttributeValue

from ragtel._config import CaptureConfig
from ragtel._encoding.encoder import apply_mask, clean_text, encode_json, finish_json, plain_text
from ragtel.semconv.attributes import RAGTEL_INPUT, RAGTEL_OUTPUT

_logger = logging.getLogger("ragtel")

F = TypeVar("F", bound=Callable[..., Any])

_SELF_NAMES: Final = ("self", "cls")


class SpanOptions(NamedTuple):
    """The ``start_span`` arguments a decorator passes on every call."""

    context: context_api.Context | None = None
    kind: SpanKind = SpanKind.INTERNAL
    attributes: types.Attributes = None
    links: Sequence[Link] | None = None
    start_time: int | None = None
    record_exception: bool = True
    set_status_on_exception: bool = True
    end_on_exit: bool = True


def trace_callable(
    func: F,
    *,
    tracer: trace.Tracer,
    name: str | None,
    options: SpanOptions,
    capture: CaptureConfig,
) -> F:
    """Wrap ``func`` so each call runs in a span that records its input and output."""
    if isinstance(func, (classmethod, staticmethod)):
        inner = trace_callable(
            func.__func__, tracer=tracer, name=name, options=options, capture=capture
        )
        return cast(F, type(func)(inner))
    if not callable(func):
        raise TypeError(f"the traced object must be callable; got {type(func).__name__}")
    recorder = _Recorder(func, capture)
    span_name = name if name is not None else getattr(func, "__qualname__", repr(func))
    if inspect.isasyncgenfunction(func):
        return cast(F, _wrap_async_generator(func, tracer, span_name, options, recorder))
    if inspect.isgeneratorfunction(func):
        return cast(F, _wrap_generator(func, tracer, span_name, options, recorder))
    if inspect.iscoroutinefunction(func):
        return cast(F, _wrap_coroutine(func, tracer, span_name, options, recorder))
    return cast(F, _wrap_function(func, tracer, span_name, options, recorder))


class _Recorder:
    """Binds call arguments by name and writes input/output onto a span."""

    def __init__(self, func: Callable[..., Any], capture: CaptureConfig) -> None:
        self._capture = capture
        self.enabled = capture.capture_content
        try:
            self._signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):  # builtins without a signature
            self._signature = None
        params = list(self._signature.parameters.values()) if self._signature else []
        self._skip_first = (
            bool(params)
            and params[0].name in _SELF_NAMES
            and "." in getattr(func, "__qualname__", "")
        )
        # Fast path for the common shape: only positional-or-keyword parameters.
        self._simple = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
        self._names = tuple(p.name for p in params)
        self._defaults = tuple(
            (p.name, p.default) for p in params if p.default is not inspect.Parameter.empty
        )

    def record_input(self, span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        arguments = self._bind(args, kwargs)
        if arguments is None:
            return
        if self._skip_first and self._names:
            arguments.pop(self._names[0], None)
        span.set_attribute(RAGTEL_INPUT, self._encode(arguments, as_text=False))

    def record_output(self, span: Span, value: Any) -> None:
        if value is None:
            return
        span.set_attribute(RAGTEL_OUTPUT, self._encode(value, as_text=True))

    def collector(self) -> _ItemCollector:
        return _ItemCollector(self._capture)

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        names = self._names
        if self._simple and not kwargs and len(args) == len(names):
            return dict(zip(names, args, strict=True))
        if self._simple and len(args) <= len(names) and all(key in names for key in kwargs):
            bound = dict(zip(names, args, strict=False))  # fewer args than names: defaults follow
            bound.update(kwargs)
            for name, default in self._defaults:
                bound.setdefault(name, default)
            return bound
        if self._signature is None:
            return {"args": list(args), **kwargs}
        try:
            call = self._signature.bind(*args, **kwargs)
        except TypeError:
            return None  # the call itself will raise; nothing sensible to record
        call.apply_defaults()
        return dict(call.arguments)

    def _encode(self, value: Any, *, as_text: bool) -> str:
        if self._capture.mask is not None:
            value = apply_mask(value, self._capture.mask)
        limits = self._capture.limits
        if as_text and type(value) is str:
            return clean_text(value, limits.max_length)
        return encode_json(value, limits)


def _fail(span: Span, error: BaseException, options: SpanOptions) -> None:
    """Record ``error`` as the SDK's ``use_span`` does: errors only, not exits or cancels.

    The event is built here rather than by the SDK's ``record_exception``: that
    calls ``str(error)``, which may raise and replace the caller's error, and
    records text as it is, so a lone surrogate in a message (a file name
    decoded with ``surrogateescape``) would fail the whole export batch.
    """
    if not isinstance(error, Exception) or not span.is_recording():
        return
    message = plain_text(error, _WHOLE)  # str(error), or its repr if that raises
    if options.record_exception:
        span.add_event("exception", _exception_attributes(error, message))
    if options.set_status_on_exception:
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {message}"))


# Exception texts are kept whole, as the SDK keeps them: only made exportable.
_WHOLE: Final = sys.maxsize


def _exception_attributes(error: BaseException, message: str) -> dict[str, AttributeValue]:
    """The attributes of the SDK's exception event, with exportable texts."""
    kind = type(error)
    module = kind.__module__
    name = f"{module}.{kind.__qualname__}" if module and module != "builtins" else kind.__qualname__
    return {
        EXCEPTION_TYPE: clean_text(name, _WHOLE),
        EXCEPTION_MESSAGE: message,
        EXCEPTION_STACKTRACE: clean_text("".join(traceback.format_exception(error)), _WHOLE),
        EXCEPTION_ESCAPED: "False",
    }


# Positional calls: these run once per traced call, and keyword binding of nine
# arguments costs more than the rest of the wrapper. The order is the OTel API's.
def _start_span(tracer: trace.Tracer, name: str, options: SpanOptions) -> Span:
    return tracer.start_span(name, *options[:7])


def _as_current(tracer: trace.Tracer, name: str, options: SpanOptions) -> Any:
    return tracer.start_as_current_span(name, *options)


def _without_error_recording(options: SpanOptions) -> SpanOptions:
    """``options`` for the SDK's context manager when the wrapper records errors itself."""
    return options._replace(record_exception=False, set_status_on_exception=False)


def _wrap_function(
    func: Callable[..., Any],
    tracer: trace.Tracer,
    name: str,
    options: SpanOptions,
    recorder: _Recorder,
) -> Callable[..., Any]:
    quiet = _without_error_recording(options)

    @functools.wraps(func)
    def traced_function(*args: Any, **kwargs: Any) -> Any:
        with _as_current(tracer, name, quiet) as span:
            recording = recorder.enabled and span.is_recording()
            if recording:
                recorder.record_input(span, args, kwargs)
            try:
                result = func(*args, **kwargs)
            except Exception as error:
                _fail(span, error, options)
                raise
            if recording:
                recorder.record_output(span, result)
            return result

    return traced_function


def _wrap_coroutine(
    func: Callable[..., Any],
    tracer: trace.Tracer,
    name: str,
    options: SpanOptions,
    recorder: _Recorder,
) -> Callable[..., Any]:
    quiet = _without_error_recording(options)

    @functools.wraps(func)
    async def traced_coroutine(*args: Any, **kwargs: Any) -> Any:
        with _as_current(tracer, name, quiet) as span:
            recording = recorder.enabled and span.is_recording()
            if recording:
                recorder.record_input(span, args, kwargs)
            try:
                result = await func(*args, **kwargs)
            except Exception as error:
                _fail(span, error, options)
                raise
            if recording:
                recorder.record_output(span, result)
            return result

    return traced_coroutine


class _ItemCollector:
    """Encodes yielded items as they arrive, up to the capture limits, and counts the rest.

    Items are encoded at once and not kept: a generator streaming large
    batches must not have them all held in memory until it ends.
    """

    __slots__ = ("chars", "extra", "limits", "mask", "pieces")

    def __init__(self, capture: CaptureConfig) -> None:
        self.pieces: list[str] = []
        self.chars = 0
        self.extra = 0
        self.limits = capture.limits
        self.mask = capture.mask

    def add(self, item: Any) -> None:
        if self.chars >= self.limits.max_length or len(self.pieces) >= self.limits.max_items:
            self.extra += 1
            return
        piece = encode_json(apply_mask(item, self.mask), self.limits)
        self.pieces.append(piece)
        self.chars += len(piece) + 2

    def text(self) -> str:
        pieces = self.pieces
        if self.extra:
            pieces = [*pieces, encode_json(f"…[{self.extra} more items]", self.limits)]
        # Pieces of JSON whose texts were cleaned as they were encoded.
        return finish_json("[" + ", ".join(pieces) + "]", self.limits.max_length)


def _wrap_generator(
    func: Callable[..., Generator[Any, Any, Any]],
    tracer: trace.Tracer,
    name: str,
    options: SpanOptions,
    recorder: _Recorder,
) -> Callable[..., Generator[Any, Any, Any]]:
    @functools.wraps(func)
    def traced_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        # Runs at the first next(): a generator never iterated opens no span.
        span = _start_span(tracer, name, options)
        span_context = trace.set_span_in_context(span)
        recording = recorder.enabled and span.is_recording()
        collector = recorder.collector()
        try:
            token = context_api.attach(span_context)
            try:
                if recording:
                    recorder.record_input(span, args, kwargs)
                inner = func(*args, **kwargs)
            finally:
                context_api.detach(token)
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                token = context_api.attach(span_context)
                try:
                    if to_throw is not None:
                        error, to_throw = to_throw, None
                        item = inner.throw(error)
                    else:
                        item = inner.send(to_send)
                except StopIteration as stop:
                    return stop.value
                finally:
                    context_api.detach(token)
                if recording:
                    collector.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    inner.close()
                    raise
                except BaseException as thrown:  # noqa: BLE001 - forwarded to the inner generator
                    to_throw = thrown
        except BaseException as error:
            _fail(span, error, options)
            raise
        finally:
            if recording:
                span.set_attribute(RAGTEL_OUTPUT, collector.text())
            if options.end_on_exit:
                span.end()

    return traced_generator


def _wrap_async_generator(
    func: Callable[..., AsyncGenerator[Any, Any]],
    tracer: trace.Tracer,
    name: str,
    options: SpanOptions,
    recorder: _Recorder,
) -> Callable[..., AsyncGenerator[Any, Any]]:
    @functools.wraps(func)
    async def traced_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = _start_span(tracer, name, options)
        span_context = trace.set_span_in_context(span)
        recording = recorder.enabled and span.is_recording()
        collector = recorder.collector()
        try:
            token = context_api.attach(span_context)
            try:
                if recording:
                    recorder.record_input(span, args, kwargs)
                inner = func(*args, **kwargs)
            finally:
                context_api.detach(token)
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                token = context_api.attach(span_context)
                try:
                    if to_throw is not None:
                        error, to_throw = to_throw, None
                        item = await inner.athrow(error)
                    else:
                        item = await inner.asend(to_send)
                except StopAsyncIteration:
                    return
                finally:
                    context_api.detach(token)
                if recording:
                    collector.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    await inner.aclose()
                    raise
                except BaseException as thrown:  # noqa: BLE001 - forwarded to the inner generator
                    to_throw = thrown
        except BaseException as error:
            _fail(span, error, options)
            raise
        finally:
            if recording:
                span.set_attribute(RAGTEL_OUTPUT, collector.text())
            if options.end_on_exit:
                span.end()

    return traced_async_generator
