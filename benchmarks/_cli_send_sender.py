"""The sending side of the ``ragtel send`` throughput benchmark, run in a process of its own.

``python -m benchmarks._cli_send_sender PROTOCOL ENDPOINT COUNT FILE`` builds
COUNT finished spans once (those of :mod:`benchmarks._export_sender`) and
writes them to FILE as OTLP JSON Lines, 512 spans a line, as ragtel's file
exporter writes them. It prints ``ready``, then for each line ``baseline`` or
``candidate`` read from standard input it delivers every span once to the
OTLP endpoint and prints one JSON line: ``{"ns": ..., "cpu_ns": ..., "ok": ...}``
(wall and process CPU time, and whether every span was accepted).

* ``baseline``: the SDK's ``OTLPSpanExporter`` (gRPC or proto-http) exports
  the spans in batches of 512, straight from memory.
* ``candidate``: ``ragtel send FILE --endpoint ENDPOINT --protocol PROTOCOL``,
  run through :func:`ragtel.cli.main` in this process, so that both sides are
  timed warm: the start of a fresh interpreter is measured apart (see
  :mod:`benchmarks.bench_cli_send`).

The receiver runs in the parent, so decoding what it reports never competes
with the senders for this interpreter's GIL.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from benchmarks._export_sender import build_spans
from ragtel._sdk.otlp_json import encode_spans_line
from ragtel.cli import main as ragtel_main

BATCH = 512
"""Spans per export request on both sides, and per line of the file."""


def write_file(path: str, spans: Sequence[ReadableSpan]) -> None:
    with open(path, "w", encoding="utf-8") as file:
        for start in range(0, len(spans), BATCH):
            file.write(encode_spans_line(spans[start : start + BATCH]) + "\n")


def baseline_exporter(protocol: str, endpoint: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter(endpoint=f"{endpoint}/v1/traces")


def export_all(exporter: SpanExporter, spans: Sequence[ReadableSpan]) -> bool:
    results = [
        exporter.export(spans[start : start + BATCH]) for start in range(0, len(spans), BATCH)
    ]
    return all(result is SpanExportResult.SUCCESS for result in results)


def send_file(protocol: str, endpoint: str, path: str) -> bool:
    argv = ["send", path, "--endpoint", endpoint, "--protocol", protocol, "--progress", "never"]
    with contextlib.redirect_stderr(io.StringIO()) as messages:
        status = ragtel_main(argv)
    if status != 0:
        print(messages.getvalue(), file=sys.stderr, end="")
    return status == 0


def timed(run: Callable[[], bool]) -> dict[str, Any]:
    """Run one side once (garbage collector off): wall and CPU time, and whether all went."""
    gc.collect()
    gc.disable()
    try:
        cpu_start = time.process_time_ns()
        start = time.perf_counter_ns()
        ok = run()
        elapsed = time.perf_counter_ns() - start
        cpu = time.process_time_ns() - cpu_start
    finally:
        gc.enable()
    return {"ns": elapsed, "cpu_ns": cpu, "ok": ok}


def main(argv: Sequence[str]) -> int:
    protocol, endpoint, count, path = argv[0], argv[1], int(argv[2]), argv[3]
    spans = build_spans(count)
    write_file(path, spans)
    exporter = baseline_exporter(protocol, endpoint)
    sides: dict[str, Callable[[], bool]] = {
        "baseline": lambda: export_all(exporter, spans),
        "candidate": lambda: send_file(protocol, endpoint, path),
    }
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            print(json.dumps(timed(sides[line.strip()])), flush=True)
    finally:
        exporter.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
