"""``ragtel view`` and ``ragtel report`` on a file of 100,000 spans: seconds, peak memory, size.

The file starts as 5,000 spans the tracer writes in a subprocess: query traces
of 8 spans with params, a retrieval event with chunk texts and scores, a
query event, an error now and then, and late feedback carriers. Copies of
those lines with fresh trace ids bring it to 100,000 spans, so the file is
what the tracer writes, only longer.

Each command runs as a user runs it, a fresh interpreter with its output to
/dev/null; the time is the wall time of the whole process, start-up included.
Peak memory is the process's own high-water mark (VmHWM).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks._timing import QUICK, Measurement, Settings

SPANS = 100_000
LIMIT_SECONDS = 10.0

_SEED_SCRIPT = textwrap.dedent(
    """
    import random, sys
    from opentelemetry.trace import Status, StatusCode
    from ragtel import RetrievedChunk, get_lastmile_tracer

    tracer = get_lastmile_tracer(
        "bench-cli", project_name="bench", output_filepath=sys.argv[1], rag_flow_type="query"
    )
    rng = random.Random(7)
    contexts = []
    for number in range(int(sys.argv[2])):
        with tracer.start_as_current_span("answer"):
            tracer.register_params({
                "ingestion.chunk_size": rng.choice([128, 256, 512]),
                "retrieval.top_k": rng.choice([1, 3, 5]),
                "generation.model": "template",
            })
            with tracer.start_as_current_span("rewrite"):
                pass
            with tracer.start_as_current_span("retrieve"):
                tracer.log_retrieval_event("how long do refunds take?", [
                    RetrievedChunk(f"c{k}", "refunds take five business days " * 8,
                                   retrieval_score=rng.random())
                    for k in range(5)
                ])
            for step in ("rerank", "prompt", "format"):
                with tracer.start_as_current_span(step):
                    pass
            with tracer.start_as_current_span("generate") as span:
                tracer.log_query_event("how long do refunds take?", "Five business days. " * 5)
                if number % 20 == 0:
                    span.set_status(Status(StatusCode.ERROR, "model timed out"))
            contexts.append(tracer.serialize_span_context())
        if number % 100 == 99:
            tracer.force_flush()
    tracer.force_flush()
    for context in contexts[::4]:
        tracer.log_binary_feedback(rng.random() < 0.6, context=context, name="thumbs")
        tracer.log_numeric_feedback(rng.random(), context=context, name="relevance")
    tracer.shutdown()
    """
)

_RUN_SCRIPT = textwrap.dedent(
    """
    import sys
    from ragtel.cli import main

    status = main(sys.argv[1:])
    with open("/proc/self/status") as proc:
        peak = next(line.split()[1] for line in proc if line.startswith("VmHWM:"))
    print(f"{status} {peak}", file=sys.stderr)
    """
)

_TRACE_ID = re.compile(r'"traceId":"[0-9a-f]{8}([0-9a-f]{24})"')


@functools.cache
def _fixture() -> tuple[Path, int]:
    """The file both measurements read, written once per run and removed at exit."""
    directory = Path(tempfile.mkdtemp(prefix="ragtel-bench-cli-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return _write_file(directory)


def _write_file(directory: Path) -> tuple[Path, int]:
    """A file of at least SPANS spans: a seed the tracer writes, then copies with new trace ids."""
    seed = directory / "seed.jsonl"
    subprocess.run([sys.executable, "-c", _SEED_SCRIPT, str(seed), "600"], check=True, timeout=600)
    lines = seed.read_text("utf-8").splitlines()
    seed_spans = sum(
        len(scope["spans"])
        for line in lines
        for resource in json.loads(line)["resourceSpans"]
        for scope in resource["scopeSpans"]
    )
    copies = -(-SPANS // seed_spans)
    target = directory / "spans.jsonl"
    with target.open("w", encoding="utf-8") as out:
        for copy in range(copies):
            # A new first 8 hex digits per copy; links keep pointing into the same copy.
            replacement = f'"traceId":"{copy:08x}\\1"'
            for line in lines:
                out.write(_TRACE_ID.sub(replacement, line))
                out.write("\n")
    return target, seed_spans * copies


def _run(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak memory (KiB) of one ``ragtel`` run."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _RUN_SCRIPT, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    status, peak = completed.stderr.strip().splitlines()[-1].split()
    if status != "0":
        raise RuntimeError(f"ragtel {' '.join(args)} exited {status}: {completed.stderr[-500:]}")
    return elapsed, int(peak)


def _measure(command: str, args: list[str], settings: Settings) -> Measurement:
    runs = 1 if settings is QUICK else 3
    path, spans = _fixture()
    size = os.path.getsize(path)
    results = [_run([command, str(path), *args]) for _ in range(runs)]
    seconds = statistics.median(elapsed for elapsed, _ in results)
    peak_mb = max(peak for _, peak in results) / 1024
    return Measurement(
        name=f"cli: `ragtel {command}` on {spans:,} spans",
        value=seconds,
        unit="s",
        limit=LIMIT_SECONDS,
        detail=f"median of {runs} run(s), start-up included; peak memory {peak_mb:.0f} MB; "
        f"file {size / 1e6:.0f} MB",
    )


def view_time(settings: Settings) -> Measurement:
    return _measure("view", ["--limit", "0"], settings)


def report_time(settings: Settings) -> Measurement:
    return _measure("report", ["--by", "chunk_size", "--by", "top_k"], settings)


MEASUREMENTS = [
    ("cli: `ragtel view` on 100,000 spans", view_time),
    ("cli: `ragtel report` on 100,000 spans", report_time),
]
