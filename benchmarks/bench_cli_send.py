"""``ragtel send`` throughput to a real OTLP receiver, against the SDK's exporter.

Both sides deliver the same finished spans to the OTLP test receiver
(``@elastic/mockotlpserver``, run by ``tests/otlp_receiver.py``) over the
same protocol, in requests of 512 spans. Baseline: the SDK's
``OTLPSpanExporter`` exporting the spans from memory. Candidate: ``ragtel
send`` replaying the file those spans were written to (OTLP JSON Lines, 512
spans a line), which has to read, parse and convert the JSON besides. A round
times one side end to end, from the first span to the receiver's answer to
the last request; then, untimed, it waits for the receiver to report the
spans and counts them. A span that did not arrive fails the benchmark
whatever its ratio.

Both sides run warm in one child process (``benchmarks._cli_send_sender``);
the start of a ``ragtel send`` process, a fixed cost rather than a rate, is
measured once apart and reported beside the result.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._sender_rounds import sender_pair
from benchmarks._timing import Benchmark, Pair
from benchmarks.bench_export import (
    _RECEIVER_MODULE,
    _RECEIVER_PACKAGE,
    _receiver_module,
    _sender_environment,
    _wait_for_arrivals,
)

SPANS = 3_072
"""Spans per round and side: six requests of 512, a few seconds of a busy service."""


def _unavailable() -> str | None:
    import shutil

    if not _RECEIVER_MODULE.is_file():
        return "ragtel send throughput: the OTLP test receiver is not in this checkout"
    if shutil.which("node") is None:
        return "ragtel send throughput: the OTLP test receiver needs Node.js (`node` on PATH)"
    if not _RECEIVER_PACKAGE.is_dir():
        return (
            "ragtel send throughput: run `npm ci --prefix tests/receiver` to install the receiver"
        )
    return None


UNAVAILABLE = _unavailable()


class _Tally:
    """Spans each side failed to deliver and the sender's CPU time, warm-up rounds included."""

    def __init__(self) -> None:
        self.lost = {False: 0, True: 0}
        self.failed = {False: 0, True: 0}
        self.cpu_ns: dict[bool, list[float]] = {False: [], True: []}
        self.startup_seconds = 0.0

    def add(self, is_candidate: bool, report: dict[str, Any], received: int) -> None:
        self.lost[is_candidate] += SPANS - received
        self.failed[is_candidate] += not report["ok"]
        self.cpu_ns[is_candidate].append(report["cpu_ns"] / SPANS)

    def summary(self) -> tuple[str, bool]:
        sdk_cpu, send_cpu = (statistics.median(self.cpu_ns[side]) / 1e3 for side in (False, True))
        detail = (
            f"spans lost: SDK {self.lost[False]}, ragtel send {self.lost[True]} "
            f"(over {len(self.cpu_ns[False])} + {len(self.cpu_ns[True])} rounds of {SPANS:,}); "
            f"sender CPU per span: SDK {sdk_cpu:.1f} µs, ragtel send {send_cpu:.1f} µs; "
            f"a fresh `ragtel send` process adds {self.startup_seconds:.2f} s to start"
        )
        if any(self.failed.values()):
            detail += f"; failed rounds: SDK {self.failed[False]}, ragtel send {self.failed[True]}"
        clean = not any(self.lost.values()) and not any(self.failed.values())
        return detail, clean


def _startup_seconds(endpoint: str, protocol: str, directory: str) -> float:
    """Wall time of a ``ragtel send`` process with nothing to send: its fixed cost."""
    empty = Path(directory) / "empty.jsonl"
    empty.touch()
    command = [sys.executable, "-m", "ragtel", "send", str(empty), "--endpoint", endpoint]
    start = time.perf_counter()
    subprocess.run(
        [*command, "--protocol", protocol],
        env=_sender_environment(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return time.perf_counter() - start


def _prepare_for(protocol: str) -> Callable[[], Pair]:
    def prepare() -> Pair:
        directory = tempfile.TemporaryDirectory(prefix="ragtel-bench-send-")
        receiver = _receiver_module().OTLPReceiver().start()
        endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
        path = str(Path(directory.name) / "traces.jsonl")
        tally = _Tally()

        def measure_startup() -> None:
            tally.startup_seconds = _startup_seconds(endpoint, protocol, directory.name)

        sender = "benchmarks._cli_send_sender"
        return sender_pair(
            [sys.executable, "-m", sender, protocol, endpoint, str(SPANS), path],
            environment=_sender_environment(),
            receiver=receiver,
            spans=SPANS,
            tally=tally,
            count_arrivals=_wait_for_arrivals,
            before_warm_up=measure_startup,
            cleanup=directory.cleanup,
        )

    return prepare


HTTP = Benchmark(
    name="send: spans/s replayed from a file over http/protobuf, `ragtel send` vs the SDK's "
    "`OTLPSpanExporter` exporting the same spans",
    target=0.5,
    prepare=_prepare_for("http/protobuf"),
    higher_is_better=True,
    unit="span",
)
GRPC = Benchmark(
    name="send: spans/s replayed from a file over gRPC, `ragtel send` vs the SDK's "
    "`OTLPSpanExporter` exporting the same spans",
    target=0.5,
    prepare=_prepare_for("grpc"),
    higher_is_better=True,
    unit="span",
)

BENCHMARKS = [] if UNAVAILABLE else [HTTP, GRPC]
