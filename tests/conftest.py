"""Shared fixtures: every test starts with no global provider and no ragtel tracers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.util._once import Once

from ragtel._factory import reset_for_tests
from semconv_check import SESSION_CHECK, Checker, LiveCheck

if TYPE_CHECKING:
    from otlp_receiver import OTLPReceiver
    from phoenix_server import PhoenixServer

_RAGTEL_ENV = (
    "LASTMILE_API_TOKEN",
    "LASTMILE_PROJECT_ID",
    "RAGTEL_TRACES_FILE",
    "RAGTEL_CAPTURE_CONTENT",
    "RAGTEL_MAX_VALUE_LENGTH",
)
_OTEL_ENV_PREFIXES = ("OTEL_",)


LIVE_CHECK = SESSION_CHECK


@pytest.fixture(autouse=True, scope="session")
def semconv_live_check() -> Iterator[Checker]:
    """Every SDK provider the tests create also feeds the semantic-convention live check."""
    original_init = TracerProvider.__init__

    def init_with_live_check(self: TracerProvider, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.add_span_processor(LiveCheck(LIVE_CHECK))

    TracerProvider.__init__ = init_with_live_check  # type: ignore[method-assign]
    try:
        yield LIVE_CHECK
    finally:
        TracerProvider.__init__ = original_init  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if LIVE_CHECK.violations:
        print("\nsemantic-convention live check failed:", file=sys.stderr)
        for violation in sorted(set(LIVE_CHECK.violations)):
            print(f"  {violation}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@pytest.fixture(scope="session")
def phoenix() -> Iterator[PhoenixServer]:
    """A real Arize Phoenix server on loopback ports, for the session (it takes ~12 s to start)."""
    from phoenix_server import PhoenixServer

    with PhoenixServer() as server:
        yield server
