"""Cold import time against ``import opentelemetry.sdk.trace``.

Two figures: ``import ragtel`` (what the CLI pays: the public names load on
first use), and ``from ragtel import get_lastmile_tracer`` (what an app that
traces pays).

Each operation is a fresh interpreter that imports one module and reports how
long the import itself took (``time.perf_counter_ns`` around the import
statement), so interpreter start-up does not dilute the ratio. Both sides use
the same interpreter and the same warm OS file cache; bytecode caches exist
for both.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from benchmarks._timing import Benchmark, Pair

_SCRIPT = (
    "import time\n"
    "start = time.perf_counter_ns()\n"
    "{statement}\n"
    "print(time.perf_counter_ns() - start)\n"
)


def _import_ns(statement: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def _prepare_for(statement: str) -> Callable[[], Pair]:
    def prepare() -> Pair:
        def measure(is_candidate: bool) -> float:
            return _import_ns(statement if is_candidate else "import opentelemetry.sdk.trace")

        def unused(loops: int) -> None:
            raise AssertionError("self-timed benchmark")

        return Pair(unused, unused, measure=measure, max_rounds=41)

    return prepare


IMPORT = Benchmark(
    name="import: `import ragtel` vs `import opentelemetry.sdk.trace`",
    target=1.5,
    prepare=_prepare_for("import ragtel"),
)
IMPORT_TRACER = Benchmark(
    name="import: `from ragtel import get_lastmile_tracer` vs `import opentelemetry.sdk.trace`",
    target=1.5,
    prepare=_prepare_for("from ragtel import get_lastmile_tracer"),
)

BENCHMARKS = [IMPORT, IMPORT_TRACER]
