"""Fixtures of the instrumentation tests.

Each test module names ragtel's instrumentor under test in ``INSTRUMENTOR``;
the ``instrumentor`` fixture instruments it onto the ``ragtel_spans``
provider for one test. The ``openinference`` peers stay in their modules:
each holds a different peer's spans to its own rules.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from ragtel.testing import SpanRecorder


@pytest.fixture
def instrumentor(
    request: pytest.FixtureRequest, ragtel_spans: SpanRecorder
) -> Iterator[BaseInstrumentor]:
    """The module's ``INSTRUMENTOR``, instrumented for this test, uninstrumented after it."""
    instrumentor: BaseInstrumentor = request.module.INSTRUMENTOR()
    instrumentor.instrument(tracer_provider=ragtel_spans.provider)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()
