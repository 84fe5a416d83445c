"""ParamSet costs: one registration against one raw span, and memory over many traces."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from itertools import cycle, repeat

from benchmarks._timing import QUICK, Benchmark, Measurement, Pair, Settings
from benchmarks.bench_tracer import _Setup


def _prepare_register_param() -> Pair:
    setup = _Setup()
    sdk_tracer, tracer = setup.sdk_tracer, setup.ragtel_tracer
    # The candidate registers into one long-lived trace, cycling through ten
    # keys as a pipeline would; each registration also writes the current span.
    root = tracer.start_as_current_span("trace")
    root.__enter__()
    keys = cycle([f"param_{i}" for i in range(10)])

    def baseline(loops: int) -> None:
        for _ in repeat(None, loops):
            with sdk_tracer.start_as_current_span("op"):
                pass

    def candidate(loops: int) -> None:
        for _ in repeat(None, loops):
            tracer.register_param(next(keys), 512)

    candidate(1)
    assert tracer.get_params()["param_0"] == 512

    def close() -> None:
        root.__exit__(None, None, None)
        setup.close()

    return Pair(baseline, candidate, close)


REGISTER_PARAM = Benchmark(
    name="params: `register_param` on an active trace vs one raw SDK span",
    target=0.25,
    prepare=_prepare_register_param,
)

BENCHMARKS = [REGISTER_PARAM]


_RSS_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from ragtel import get_lastmile_tracer
    from ragtel._tracer import tracer_core

    def rss_mb():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    total = int(sys.argv[1])
    tracer = get_lastmile_tracer("rss", exporter="none")
    def run(count):
        for i in range(count):
            with tracer.start_as_current_span("request"):
                for k in range(10):
                    tracer.register_param(f"p{k}", i)
    warm = total // 10
    run(warm)
    before = rss_mb()
    run(total - warm)
    after = rss_mb()
    print(before, after, tracer_core(tracer).processor.tracked_traces)
    """
)


def rss_over_traces(settings: Settings) -> Measurement:
    traces = 20_000 if settings is QUICK else 200_000
    completed = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(traces)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    before, after, tracked = completed.stdout.split()
    return Measurement(
        name=f"params: RSS growth over {traces:,} traces with 10 params each",
        value=float(after) - float(before),
        unit="MB",
        limit=16,
        detail=f"RSS {float(before):.1f} MB after the first 10%, {float(after):.1f} MB at the end; "
        f"{tracked} traces still tracked",
    )


MEASUREMENTS = [("params: RSS growth over traces with 10 params each", rss_over_traces)]
