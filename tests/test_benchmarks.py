"""The benchmark command works (a smoke run; timings are reported, never judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# About 80 s of benchmark rounds: out of the default run (see pyproject's addopts).
pytestmark = [pytest.mark.benchmark, pytest.mark.integration]


def test_quick_benchmark_run_produces_the_table(tmp_path: Path) -> None:
    output = tmp_path / "bench.md"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-check", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    table = output.read_text()
    expected = (
        "span: `start_as_current_span`",
        "function: `trace_function()`",
        "import: `import ragtel`",
        "params: `register_param`",
        "params: RSS growth over",
        "cli: `ragtel view` on",
        "cli: `ragtel report` on",
        "disabled: `log_retrieval_event`",
    )
    rows = [line for line in table.splitlines() if line.endswith(("| pass |", "| FAIL |"))]
    rows += [line for line in table.splitlines() if "| pass | " in line or "| FAIL | " in line]
    for name in expected:
        assert any(name in row for row in rows), (name, table)
    # Benchmarks that need something beyond ragtel run, or say in one line why not.
    optional = {
        "export: spans/s to an OTLP receiver over http/protobuf": "Not measured: export",
        "export: spans/s to an OTLP receiver over gRPC": "Not measured: export",
        "| peers: decorated call": "Not measured: peers",
        "| peers: retrieval span": "Not measured: peers",
        "send: spans/s replayed from a file over http/protobuf": "Not measured: ragtel send",
        "send: spans/s replayed from a file over gRPC": "Not measured: ragtel send",
    }
    for name, note in optional.items():
        assert name in table or note in table, (name, table)
