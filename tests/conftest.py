"""Shared fixtures: every test starts with no global provider and no ragtel tracers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from opentelemetry import trace
from opentelemetry.util._once import Once

from ragtel._get_tracer import reset_for_tests

if TYPE_CHECKING:
    from otlp_receiver import OTLPReceiver

_RAGTEL_ENV = (
    "LASTMILE_API_TOKEN",
    "LASTMILE_PROJECT_ID",
    "RAGTEL_TRACES_FILE",
    "RAGTEL_CAPTURE_CONTENT",
    "RAGTEL_MAX_VALUE_LENGTH",
)
_OTEL_ENV_PREFIXES = ("OTEL_",)


def reset_global_tracer_provider() -> None:
    # The API lets a process set its global provider once; tests need a clean slate each time.
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def clean_otel_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    import os

    for name in list(os.environ):
        if name in _RAGTEL_ENV or name.startswith(_OTEL_ENV_PREFIXES):
            monkeypatch.delenv(name)
    # The embedded default file lands in the working directory; keep it out of the checkout.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    reset_for_tests()
    reset_global_tracer_provider()
    yield
    current = trace.get_tracer_provider()
    shutdown = getattr(current, "shutdown", None)
    if callable(shutdown) and not isinstance(current, trace.ProxyTracerProvider):
        shutdown()
    reset_for_tests()
    reset_global_tracer_provider()


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """One real OTLP receiver (Elastic's mockotlpserver) for the session, on loopback ports."""
    from otlp_receiver import OTLPReceiver

    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(otlp_receiver: OTLPReceiver) -> OTLPReceiver:
    """The session receiver, emptied for this test."""
    otlp_receiver.clear()
    return otlp_receiver
