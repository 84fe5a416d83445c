"""Test helpers: capture the spans your instrumentation produces, in memory.

Installed as a pytest plugin, so the ``ragtel_spans`` fixture is available in
any test suite once ragtel is installed::

    def test_answer_is_traced(ragtel_spans):
        tracer = ragtel_spans.tracer("my-app")
        with tracer.start_as_current_span("answer"):
            ...
        assert ragtel_spans.by_name("answer").attributes["ragtel.project.name"] == ...

Outside pytest, use :func:`capture_spans` as a context manager.

A suite that makes ragtel tracers outside the fixture (with
``get_lastmile_tracer``, on the global provider) calls :func:`reset` between
tests, so each test starts with no ragtel tracer and nothing ragtel changed::

    @pytest.fixture(autouse=True)
    def no_ragtel_state():
        ragtel.testing.reset()
        yield
        ragtel.testing.reset()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragtel import _state
from ragtel._factory import get_lastmile_tracer
from ragtel._sdk.provider import span_limits
from ragtel._tracer import LastMileTracer

__all__ = ["SpanRecorder", "capture_spans", "reset"]


def reset() -> None:
    """Forget every ragtel tracer and installation, and undo ragtel's process-wide changes.

    For test suites: ragtel's exporters are shut down (what they hold is
    exported first), the global propagator and the SIGTERM handler ragtel
    replaced are put back, files given to ``log(logger=)`` are closed, and
    warnings given once may be given again. The next ``get_lastmile_tracer``
    makes a new tracer. The global tracer provider is the app's (or the
    test's) to reset: OpenTelemetry lets a process set it only once.

    Tracers and spans made before a reset belong to the state it forgot:
    make new ones after it (feedback for a span started before the reset,
    for one, goes on a carrier span instead of onto the running span).

    Example::

        ragtel.testing.reset()
    """
    _state.STATE.reset()


def reset_for_tests() -> None:
    """The former name of :func:`reset`, kept for suites that call it."""
    _state.STATE.reset()


class SpanRecorder:
    """An SDK provider whose finished spans are kept in memory, in end order."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        # The same limits as a provider ragtel creates, so tests see what production records.
        self.provider = TracerProvider(span_limits=span_limits())
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def tracer(self, name: str = "test", **kwargs: Any) -> LastMileTracer:
        """A :class:`LastMileTracer` on this recorder's provider.

        Takes the same arguments as ``get_lastmile_tracer``.
        """
        return get_lastmile_tracer(name, tracer_provider=self.provider, **kwargs)

    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans so far."""
        return list(self.exporter.get_finished_spans())

    def by_name(self, name: str) -> ReadableSpan:
        """The one finished span called ``name`` (AssertionError if there are none or several)."""
        matches = [span for span in self.spans if span.name == name]
        assert len(matches) == 1, (
            f"expected one span named {name!r}, found {len(matches)}: {self.names()}"
        )
        return matches[0]

    def names(self) -> list[str]:
        return [span.name for span in self.spans]

    def clear(self) -> None:
        self.exporter.clear()


@contextmanager
def capture_spans() -> Iterator[SpanRecorder]:
    """A fresh :class:`SpanRecorder`; ragtel's state is :func:`reset` before and after."""
    reset()
    recorder = SpanRecorder()
    try:
        yield recorder
    finally:
        recorder.provider.shutdown()
        reset()


try:
    import pytest
except ImportError:  # pragma: no cover - the fixture only exists under pytest
    pass
else:

    @pytest.fixture
    def ragtel_spans() -> Iterator[SpanRecorder]:
        """Spans of the test, captured in memory (see :class:`SpanRecorder`)."""
        with capture_spans() as recorder:
            yield recorder
