"""What every test shares: a clean slate, the semantic-convention live check, real receivers.

* Every test starts with no global provider, no ragtel tracers and no
  ``OTEL_*``/ragtel environment variables (:func:`clean_otel_state`).
* Every SDK provider created during the session feeds the live check
  (:func:`semconv_live_check`); a violation fails the session.
* Tests that need a part beyond the Python environment are marked by it
  (``node``, ``phoenix``, ``mlflow``) and ``integration``. A test that uses
  the ``otlp_receiver``/``receiver`` or ``phoenix`` fixture is marked
  automatically. When the part is missing the test is skipped with a line
  naming the part and the command that installs it; under ``CI=true`` that
  skip, like any skip of such a test, fails the test instead: CI runs them all.

Fixtures used across directories live here, a directory's own in its
``conftest.py``; a fixture that one file alone uses stays in that file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.util._once import Once

from ragtel.testing import reset as reset_ragtel
from semconv_check import SESSION_CHECK, Checker, LiveCheck

if TYPE_CHECKING:
    from fuzz_export import Exported
    from otlp_receiver import OTLPReceiver
    from phoenix_server import PhoenixServer

ROOT = Path(__file__).resolve().parent.parent

_RAGTEL_ENV = (
    "LASTMILE_API_TOKEN",
    "LASTMILE_PROJECT_ID",
    "RAGTEL_TRACES_FILE",
    "RAGTEL_TRACE_IDS_FILE",
    "RAGTEL_CAPTURE_CONTENT",
    "RAGTEL_MAX_VALUE_LENGTH",
)
_OTEL_ENV_PREFIXES = ("OTEL_",)


# Parts beyond the Python environment ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Part:
    """Something a test needs that ``pip install -e '.[test]'`` does not provide."""

    what: str
    install: str
    is_installed: Callable[[], bool]

    def skip_reason(self) -> str:
        return f"needs {self.what}: run `{self.install}` (or `bash scripts/test.sh`)"


def _node_receiver_installed() -> bool:
    modules = ROOT / "tests" / "receiver" / "node_modules" / "@elastic" / "mockotlpserver"
    return shutil.which("node") is not None and modules.is_dir()


def _phoenix_installed() -> bool:
    venv = ROOT / ".phoenix-venv"
    # setup-phoenix.sh writes the stamp last, so a half-built virtualenv counts as missing.
    return (venv / "bin" / "python").is_file() and (venv / ".requirements.sha256").is_file()


def _mlflow_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None


PARTS: dict[str, Part] = {
    "node": Part(
        "Node.js and the OTLP test receiver",
        "npm ci --prefix tests/receiver",
        _node_receiver_installed,
    ),
    "phoenix": Part(
        "Arize Phoenix in .phoenix-venv", "bash scripts/setup-phoenix.sh", _phoenix_installed
    ),
    "mlflow": Part("MLflow", "pip install mlflow", _mlflow_installed),
}
"""Marker name → the part it stands for."""

FIXTURE_PARTS = {"otlp_receiver": "node", "phoenix": "phoenix"}
"""Fixtures that start a part: every test using one gets its marker."""


def _parts_of(item: pytest.Item) -> list[str]:
    return [name for name in PARTS if item.get_closest_marker(name) is not None]


def _on_ci() -> bool:
    return os.environ.get("CI") == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        for fixture, part in FIXTURE_PARTS.items():
            if fixture in fixturenames and item.get_closest_marker(part) is None:
                item.add_marker(part)
        if _parts_of(item) and item.get_closest_marker("integration") is None:
            item.add_marker("integration")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture: a missing part is reported as such, not as the receiver's error.
    for name in _parts_of(item):
        part = PARTS[name]
        if not part.is_installed():
            pytest.skip(part.skip_reason())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    if report.skipped and not hasattr(report, "wasxfail") and _on_ci() and _parts_of(item):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every integration test must run: {reason}"
    return report


# The semantic-convention live check ----------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def semconv_live_check() -> Iterator[Checker]:
    """Every SDK provider the tests create also feeds the semantic-convention live check.

    A patch of ``TracerProvider.__init__``, for the session only: providers are
    created inside ragtel (its own provider, ``ragtel.testing``, the demo), by
    about thirty tests directly, and by the instrumented libraries. A factory
    or fixture would have to reach every one of them, and ragtel has no place
    for a test-only processor hook without keeping state for it.
    ``test_semconv.py`` checks that a new provider is live-checked.
    """
    original_init = TracerProvider.__init__

    def init_with_live_check(self: TracerProvider, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.add_span_processor(LiveCheck(SESSION_CHECK))

    TracerProvider.__init__ = init_with_live_check  # type: ignore[method-assign]
    try:
        yield SESSION_CHECK
    finally:
        TracerProvider.__init__ = original_init  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SESSION_CHECK.violations:
        print("\nsemantic-convention live check failed:", file=sys.stderr)
        for violation in sorted(set(SESSION_CHECK.violations)):
            print(f"  {violation}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# A clean slate per test ------------------------------------------------------------------


def reset_global_tracer_provider() -> None:
    # The API lets a process set its global provider once; tests need a clean slate each time.
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def clean_otel_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if name in _RAGTEL_ENV or name.startswith(_OTEL_ENV_PREFIXES):
            monkeypatch.delenv(name)
    # The embedded default file lands in the working directory; keep it out of the checkout.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    reset_ragtel()
    reset_global_tracer_provider()
    yield
    current = trace.get_tracer_provider()
    shutdown = getattr(current, "shutdown", None)
    if callable(shutdown) and not isinstance(current, trace.ProxyTracerProvider):
        shutdown()
    reset_ragtel()
    reset_global_tracer_provider()


# Real receivers --------------------------------------------------------------------------


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


# The fuzz harness (fuzz_export), shared by the *_fuzz.py files and test_hostile_values.py --


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[Exported]:
    """One tracer per flavor, writing to files checked after each example."""
    from fuzz_export import Exported

    harness = Exported(tmp_path)
    with harness.encoder_errors.attached():
        yield harness
        harness.any_tracer.shutdown()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for all examples of a test: a new one per example costs more than it."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()
