"""Export throughput to a real OTLP receiver: ragtel's export path against the SDK's.

Both sides deliver the same finished spans to the OTLP test receiver
(``@elastic/mockotlpserver``, run by ``tests/otlp_receiver.py``) over the
same protocol. Baseline: the SDK's ``BatchSpanProcessor`` around the SDK's
``OTLPSpanExporter``, with a queue that holds every span. Candidate: the
processor and exporter ragtel builds for that endpoint, with its defaults.
A round feeds one side all the spans through ``on_end`` and times until its
``force_flush`` returns, i.e. until the receiver has answered every export
request; then, untimed, it waits for the receiver to report the spans and
counts them. A span that did not arrive, or that ragtel counted as dropped,
fails the benchmark whatever its ratio. The sender's CPU time per span is
reported beside it: unlike the rate, it depends neither on the receiver's
speed nor on what else the machine runs.

The sender runs in a child process (``benchmarks._export_sender``), so that
the receiver's reports, decoded here, do not compete with the exporters for
one GIL. Rounds alternate between the sides, as everywhere in this package.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks._sender_rounds import sender_pair
from benchmarks._timing import Benchmark, Pair

SPANS = 5_000
"""Spans per round and side: what a busy service ends in a second or two."""
ARRIVAL_TIMEOUT_SECONDS = 60.0

_ROOT = Path(__file__).resolve().parent.parent
_RECEIVER_MODULE = _ROOT / "tests" / "otlp_receiver.py"
_RECEIVER_PACKAGE = _ROOT / "tests" / "receiver" / "node_modules" / "@elastic" / "mockotlpserver"


def _unavailable() -> str | None:
    if not _RECEIVER_MODULE.is_file():
        return "export throughput: the OTLP test receiver is not in this checkout"
    if shutil.which("node") is None:
        return "export throughput: the OTLP test receiver needs Node.js (`node` on PATH)"
    if not _RECEIVER_PACKAGE.is_dir():
        return "export throughput: run `npm ci --prefix tests/receiver` to install the receiver"
    return None


UNAVAILABLE = _unavailable()


def _receiver_module() -> ModuleType:
    # Loaded from its file rather than by putting tests/ on sys.path: that
    # directory also holds conftest.py and other helpers whose names would
    # then shadow or be shadowed by anything else imported in this process.
    spec = importlib.util.spec_from_file_location("_ragtel_otlp_receiver", _RECEIVER_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sender_environment() -> dict[str, str]:
    # Both sides run on their defaults: no OTEL_BSP_*, OTLP or ragtel settings
    # from the caller's environment may change one side's batching or target.
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "RAGTEL_", "LASTMILE_"))
    }


def _spans_received(receiver: Any) -> int:
    """Distinct spans the receiver reported (an export retried would arrive twice)."""
    span_ids = {
        span.get("spanId")
        for request in receiver.requests("traces")
        for resource_spans in request["request"].get("resourceSpans", [])
        for scope_spans in resource_spans.get("scopeSpans", [])
        for span in scope_spans.get("spans", [])
    }
    return len(span_ids)


def _wait_for_arrivals(receiver: Any, expected: int) -> int:
    # The receiver reports a request after answering it, so the spans of the
    # last requests can show up a moment after force_flush returned.
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
    received = _spans_received(receiver)
    while received < expected and time.monotonic() < deadline:
        time.sleep(0.02)
        received = _spans_received(receiver)
    return received


class _Tally:
    """What each side's rounds showed besides their time, warm-up rounds included:
    spans it failed to deliver, flushes that timed out, and the sender's CPU time."""

    def __init__(self) -> None:
        self.lost = {False: 0, True: 0}
        self.unflushed = {False: 0, True: 0}
        self.cpu_ns: dict[bool, list[float]] = {False: [], True: []}

    def add(self, is_candidate: bool, report: dict[str, Any], received: int) -> None:
        self.lost[is_candidate] += max(SPANS - received, report["dropped"])
        self.unflushed[is_candidate] += not report["flushed"]
        self.cpu_ns[is_candidate].append(report["cpu_ns"] / SPANS)

    def summary(self) -> tuple[str, bool]:
        sdk_cpu, ragtel_cpu = (statistics.median(self.cpu_ns[side]) / 1e3 for side in (False, True))
        detail = (
            f"spans lost: SDK {self.lost[False]}, ragtel {self.lost[True]} "
            f"(over {len(self.cpu_ns[False])} + {len(self.cpu_ns[True])} rounds of {SPANS:,}); "
            f"sender CPU per span: SDK {sdk_cpu:.1f} µs, ragtel {ragtel_cpu:.1f} µs"
        )
        if any(self.unflushed.values()):
            detail += (
                f"; flush timed out: SDK {self.unflushed[False]}, ragtel {self.unflushed[True]}"
            )
        clean = not any(self.lost.values()) and not any(self.unflushed.values())
        return detail, clean


def _prepare_for(protocol: str) -> Callable[[], Pair]:
    def prepare() -> Pair:
        receiver = _receiver_module().OTLPReceiver().start()
        endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
        return sender_pair(
            [sys.executable, "-m", "benchmarks._export_sender", protocol, endpoint, str(SPANS)],
            environment=_sender_environment(),
            receiver=receiver,
            spans=SPANS,
            tally=_Tally(),
            count_arrivals=_wait_for_arrivals,
        )

    return prepare


HTTP = Benchmark(
    name="export: spans/s to an OTLP receiver over http/protobuf, ragtel vs the SDK's "
    "`BatchSpanProcessor` + `OTLPSpanExporter`",
    target=0.9,
    prepare=_prepare_for("http/protobuf"),
    higher_is_better=True,
    unit="span",
)
GRPC = Benchmark(
    name="export: spans/s to an OTLP receiver over gRPC, ragtel vs the SDK's "
    "`BatchSpanProcessor` + `OTLPSpanExporter`",
    target=0.9,
    prepare=_prepare_for("grpc"),
    higher_is_better=True,
    unit="span",
)

BENCHMARKS = [] if UNAVAILABLE else [HTTP, GRPC]
