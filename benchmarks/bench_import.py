"""Cold import time: ``import ragtel`` against ``import opentelemetry.sdk.trace``.

Each operation is a fresh interpreter that imports one module and reports how
long the import itself took (``time.perf_counter_ns`` around the import
statement), so interpreter start-up does not dilute the ratio. Both sides use
the same interpreter and the same warm OS file cache; bytecode caches exist
for both.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks._timing import Benchmark, Pair

_SCRIPT = (
    "import time\n"
    "start = time.perf_counter_ns()\n"
    "import {module}\n"
    "print(time.perf_counter_ns() - start)\n"
)


def _import_ns(module: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def _prepare() -> Pair:
    def measure(is_candidate: bool) -> float:
        return _import_ns("ragtel" if is_candidate else "opentelemetry.sdk.trace")

    def unused(loops: int) -> None:
        raise AssertionError("self-timed benchmark")

    return Pair(unused, unused, measure=measure, max_rounds=41)


IMPORT = Benchmark(
    name="import: `import ragtel` vs `import opentelemetry.sdk.trace`",
    target=1.5,
    prepare=_prepare,
)

BENCHMARKS = [IMPORT]
