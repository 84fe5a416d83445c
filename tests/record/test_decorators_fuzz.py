"""Fuzzing the decorators: functions, generators, coroutines and async generators
(see ``fuzz_contract``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.trace import SpanKind

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, otel_attributes, otel_names, valid_contexts
from fuzz_contract import Arguments, Refused, call, fuzz_settings
from fuzz_export import Exported
from ragtel import LastMileTracer, traced


class FuzzError(Exception):
    """An exception a traced function raises: it must come out unchanged."""


class UnprintableError(Exception):
    """An exception whose ``str()`` raises: it must still come out unchanged."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


@dataclasses.dataclass
class Outcome:
    """What a fuzzed function does: return ``value``, or raise ``error``."""

    value: Any
    error: BaseException | None

    def finish(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


outcomes = st.builds(
    Outcome,
    fs.anything,
    st.one_of(
        st.none(),
        st.none(),
        st.builds(FuzzError, fs.text),
        st.builds(FuzzError, fs.anything),
        st.builds(UnprintableError),
    ),
)
positional = st.lists(fs.anything, min_size=1, max_size=3)
# Names that bind no parameter of the fuzzed functions: the calls themselves are valid.
keywords = st.dictionaries(
    fs.text.filter(lambda key: key not in ("self", "a", "b", "key")), fs.anything, max_size=3
)


def decorator_for(arguments: Arguments, tracer: LastMileTracer) -> Callable[[Any], Any] | Refused:
    """One of the decorators, with fuzzed decorator arguments."""
    way = arguments.aside(
        st.sampled_from(["trace_function", "atrace_function", "traced", "traced_otel"]), "way"
    )
    name = arguments.aside(st.one_of(st.none(), otel_names), "name")
    context = arguments.draw("context", st.one_of(st.none(), valid_contexts()))
    kind = arguments.aside(st.sampled_from(SpanKind), "kind")
    attributes = arguments.aside(st.one_of(st.none(), otel_attributes), "attributes")
    if way.startswith("traced"):
        # Any OpenTelemetry tracer: the ragtel one, or a plain one of the same provider.
        plain = tracer.tracer_provider.get_tracer("fuzz-plain")
        # A wild function in the tracer's place is `@traced` used bare, a documented form
        # (tested in test_decorators_bare.py), not a wrong type: the wild draws leave it out.
        given = arguments.draw(
            "tracer",
            st.just(tracer if way == "traced" else plain),
            wild=fs.anything.filter(lambda value: not callable(value) or isinstance(value, type)),
        )
        return call(
            "traced",
            arguments,
            lambda: traced(given, name, context=context, kind=kind, attributes=attributes),
        )
    method = tracer.trace_function if way == "trace_function" else tracer.atrace_function
    return call("trace_function", arguments, lambda: method(name, context, kind, attributes))


def _same_error(raised: BaseException, outcome: Outcome) -> None:
    assert raised is outcome.error, f"{raised!r} came out instead of the function's own error"


@fuzz_settings()
@given(data=st.data())
def test_traced_functions(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        decorate = decorator_for(arguments, tracer)
        if isinstance(decorate, Refused):
            return
        outcome = arguments.aside(outcomes, "outcome")
        args = arguments.aside(positional, "args")
        kwargs = arguments.aside(keywords, "kwargs")

        def fuzzed(a: Any, b: Any = None, *rest: Any, key: Any = None, **named: Any) -> Any:
            return outcome.finish()

        class Service:
            def handle(self, a: Any, *rest: Any, **named: Any) -> Any:
                return outcome.finish()

        if arguments.aside(st.booleans(), "as a method"):  # self is not recorded
            Service.handle = decorate(Service.handle)  # type: ignore[method-assign]
            invoke = functools.partial(Service().handle, *args, **kwargs)
        else:
            invoke = functools.partial(decorate(fuzzed), *args, **kwargs)
        try:
            result = invoke()
        except BaseException as raised:  # noqa: BLE001 - any error must be the function's own
            _same_error(raised, outcome)
        else:
            assert outcome.error is None
            assert result is outcome.value


@fuzz_settings()
@given(data=st.data())
def test_traced_generators(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        decorate = decorator_for(arguments, tracer)
        if isinstance(decorate, Refused):
            return
        items = arguments.aside(st.lists(fs.anything, max_size=5), "items")
        outcome = arguments.aside(outcomes, "outcome")
        read = arguments.aside(st.integers(0, 6), "items read before close")
        args = arguments.aside(positional, "args")

        def produce(*args: Any) -> Iterator[Any]:
            yield from items
            return outcome.finish()

        generator = decorate(produce)(*args)
        seen: list[Any] = []
        try:
            for item in generator:
                seen.append(item)
                if len(seen) >= read:
                    generator.close()
                    break
        except BaseException as raised:  # noqa: BLE001 - any error must be the function's own
            _same_error(raised, outcome)
        assert all(a is b for a, b in zip(seen, items, strict=False))


@fuzz_settings()
@given(data=st.data())
def test_traced_coroutines_and_async_generators(
    exported: Exported, loop: asyncio.AbstractEventLoop, data: st.DataObject
) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        decorate = decorator_for(arguments, tracer)
        if isinstance(decorate, Refused):
            return
        outcome = arguments.aside(outcomes, "outcome")
        items = arguments.aside(st.lists(fs.anything, max_size=4), "items")
        args = arguments.aside(positional, "args")
        kwargs = arguments.aside(keywords, "kwargs")

        async def answer(a: Any, *rest: Any, **named: Any) -> Any:
            await asyncio.sleep(0)
            return outcome.finish()

        async def stream(*rest: Any) -> Any:
            for item in items:
                yield item
            outcome.finish()

        coroutine = arguments.aside(st.booleans(), "coroutine")

        async def run() -> Any:
            if coroutine:
                return await decorate(answer)(*args, **kwargs)
            return [item async for item in decorate(stream)(*args)]

        try:
            result = loop.run_until_complete(run())
        except BaseException as raised:  # noqa: BLE001 - any error must be the function's own
            _same_error(raised, outcome)
        else:
            assert outcome.error is None
            if coroutine:
                assert result is outcome.value
            else:
                assert len(result) == len(items)
                assert all(a is b for a, b in zip(result, items, strict=True))
