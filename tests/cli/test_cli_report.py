"""``ragtel report`` against numbers worked out by hand from a fixture the tracer writes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from cli_helpers import ragtel
from ragtel import LastMileTracer, get_lastmile_tracer

# Every test runs `ragtel report` as a process: out of the quick run.
pytestmark = pytest.mark.integration

MS = 1_000_000
BASE = 1_790_000_000 * 1_000_000_000  # a fixed moment, so traces sort predictably


@contextmanager
def root_span(
    tracer: LastMileTracer, index: int, latency_ms: int, params: dict[str, Any]
) -> Iterator[trace.Span]:
    """A trace's root, started at BASE + index minutes and lasting exactly ``latency_ms``."""
    start = BASE + index * 60_000 * MS
    span = tracer.start_span("answer", start_time=start)
    with trace.use_span(span, end_on_exit=False):
        tracer.register_params(params)
        yield span
    span.end(end_time=start + latency_ms * MS)


def failing_child(tracer: LastMileTracer) -> None:
    with tracer.start_as_current_span("generate") as span:
        span.set_status(Status(StatusCode.ERROR, "model timed out"))


def write_fixture(path: Path) -> None:
    """Eight query traces, feedback inline and late, a project feedback, a stray carrier.

    Expected figures, by (ingestion.chunk_size, retrieval.top_k):

    * (128, 3): T1–T4, root latencies 10/20/30/40 ms → p50 25.0, p95 38.5
      (rank 0.95 × 3 = 2.85: 30 + 0.85 × 10). T2 has an ERROR child → 1 of 4.
      Binary: T1 up (inline), T2 down, T3 up → 2 of 3. Numeric: 0.5, 1.0 →
      0.75 over 2. Categories: correct 1, wrong 1. Text 1, JSON 1.
    * (256, 3): T5, T6, 100/200 ms → p50 150, p95 195. T5 up → 1 of 1.
    * (256, 5): T7, 50 ms, its root is ERROR → error rate 1.
    * T8 has no chunk_size: left out.
    """
    tracer = get_lastmile_tracer("report-fixture", output_filepath=path, rag_flow_type="query")
    contexts: dict[str, str] = {}

    def query(name: str, index: int, latency: int, params: dict[str, Any]) -> trace.Span:
        with root_span(tracer, index, latency, {"model": "m", **params}) as span:
            contexts[name] = tracer.serialize_span_context() or ""
            return span

    small = {"ingestion.chunk_size": 128, "retrieval.top_k": 3, "temperature": 0.1}
    with root_span(tracer, 1, 10, {"model": "m", **small}):
        contexts["T1"] = tracer.serialize_span_context() or ""
        tracer.log_binary_feedback(True, name="thumbs")
    with root_span(tracer, 2, 20, {"model": "m", **small}):
        contexts["T2"] = tracer.serialize_span_context() or ""
        failing_child(tracer)
        tracer.log_categorical_feedback("wrong", ["correct", "wrong"], name="correctness")
    query("T3", 3, 30, small)
    query("T4", 4, 40, small)
    query("T5", 5, 100, {"ingestion.chunk_size": 256, "retrieval.top_k": 3, "temperature": 0.2})
    query("T6", 6, 200, {"ingestion.chunk_size": 256, "retrieval.top_k": 3, "temperature": 0.2})
    with root_span(
        tracer, 7, 50, {"model": "m", "ingestion.chunk_size": 256, "retrieval.top_k": 5}
    ) as span:
        span.set_status(Status(StatusCode.ERROR, "no context"))
    query("T8", 8, 70, {"retrieval.top_k": 3})
    tracer.force_flush()

    # Late feedback: the judged spans are exported already, so it arrives as carriers.
    tracer.log_binary_feedback(False, context=contexts["T2"], name="thumbs")
    tracer.log_binary_feedback(True, context=contexts["T3"], name="thumbs")
    tracer.log_numeric_feedback(0.5, context=contexts["T1"], name="relevance")
    tracer.log_numeric_feedback(1.0, context=contexts["T3"], name="relevance")
    tracer.log_categorical_feedback(
        "correct", ["correct", "wrong"], context=contexts["T4"], name="correctness"
    )
    tracer.log_text_feedback("great answer", context=contexts["T4"])
    tracer.log_feedback({"source": "survey"}, context=contexts["T3"])
    tracer.log_binary_feedback(True, context=contexts["T5"], name="thumbs")
    tracer.log_binary_feedback(True, name="thumbs")  # project feedback: a trace of its own
    tracer.log_binary_feedback(False, trace_id="ab" * 16, name="thumbs")  # a trace not in the file
    tracer.shutdown()


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "traces.jsonl"
    write_fixture(path)
    return path


def test_report_json_matches_hand_computed_figures(fixture_file: Path) -> None:
    result = ragtel(
        "report", fixture_file, "--by", "chunk_size", "--by", "top_k", "--format", "json"
    )
    assert result.status == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["by"] == ["ingestion.chunk_size", "retrieval.top_k"]
    assert report["traces"] == 7
    assert report["fixed"] == {"model": "m"}
    assert report["varying"] == {"temperature": 3}  # 0.1, 0.2, and unset on T7
    assert report["left_out"] == {"traces": 1, "by_param": {"ingestion.chunk_size": 1}}
    groups = {
        (g["params"]["ingestion.chunk_size"], g["params"]["retrieval.top_k"]): g
        for g in report["groups"]
    }
    assert list(groups) == [(128, 3), (256, 3), (256, 5)]

    small = groups[(128, 3)]
    assert small["traces"] == 4
    assert small["latency_ms"] == {"p50": 25.0, "p95": 38.5}
    assert (small["errors"], small["error_rate"]) == (1, 0.25)
    feedback = small["feedback"]
    assert (feedback["binary_count"], feedback["thumbs_up"]) == (3, 2)
    assert feedback["thumbs_up_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (feedback["score_count"], feedback["score_mean"]) == (2, 0.75)
    assert feedback["scores_by_name"] == {"relevance": {"count": 2, "mean": 0.75}}
    assert feedback["categories"] == {"correct": 1, "wrong": 1}
    assert (feedback["text_count"], feedback["json_count"]) == (1, 1)

    medium = groups[(256, 3)]
    assert medium["traces"] == 2
    assert medium["latency_ms"] == {"p50": 150.0, "p95": 195.0}
    assert medium["error_rate"] == 0
    assert (medium["feedback"]["binary_count"], medium["feedback"]["thumbs_up_rate"]) == (1, 1.0)
    assert medium["feedback"]["score_mean"] is None

    failing = groups[(256, 5)]
    assert (failing["traces"], failing["errors"], failing["error_rate"]) == (1, 1, 1.0)
    assert failing["latency_ms"] == {"p50": 50.0, "p95": 50.0}


def test_report_table_shows_the_same_figures(fixture_file: Path) -> None:
    result = ragtel("report", fixture_file, "--by", "ingestion.chunk_size", "--by", "top_k")
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ingestion.chunk_size", "retrieval.top_k", "traces"]
    assert "\x1b[" not in result.stdout  # piped: no colours
    row = next(line for line in lines if line.startswith("128 "))
    for figure in ("25.0 ms", "38.5 ms", "25%", "67% of 3", "0.75 (2)", "correct 1, wrong 1"):
        assert figure in row, (figure, row)
    assert "fixed: model=m" in lines
    assert "also varying, not grouped: temperature (3 values)" in lines
    assert any(line.startswith("left out 1 trace without a --by param") for line in lines)


def test_report_csv_is_one_row_per_group(fixture_file: Path) -> None:
    result = ragtel("report", fixture_file, "--by", "chunk_size", "--format", "csv")
    assert result.status == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["ingestion.chunk_size"] for row in rows] == ["128", "256"]
    small, large = rows
    assert (small["traces"], small["latency_p50_ms"], small["latency_p95_ms"]) == (
        "4",
        "25.0",
        "38.5",
    )
    # 256 holds T5, T6 and T7 once top_k is not grouped: 50, 100, 200 ms.
    assert (large["traces"], large["latency_p50_ms"], large["latency_p95_ms"]) == (
        "3",
        "100.0",
        "190.0",
    )
    assert (large["errors"], large["binary_count"], large["thumbs_up_rate"]) == ("1", "1", "1.0")
    assert "also varying, not grouped: retrieval.top_k (2 values)" in result.stderr


def test_report_filters_by_param_and_time(fixture_file: Path) -> None:
    only_cold = ragtel(
        "report",
        fixture_file,
        "--by",
        "chunk_size",
        "--param",
        "temperature=0.1",
        "--format",
        "json",
    )
    assert only_cold.status == 0, only_cold.stderr
    (group,) = json.loads(only_cold.stdout)["groups"]
    assert (group["params"], group["traces"]) == ({"ingestion.chunk_size": 128}, 4)  # T1-T4

    # Traces start at BASE + n minutes: T5 at +5 min, T7 at +7 min; --until is exclusive.
    since = "2026-09-21T14:18:20Z"  # BASE + 5 min
    until = "2026-09-21T14:20:20Z"  # BASE + 7 min
    window = ragtel(
        "report", fixture_file, "--by", "chunk_size", "--since", since, "--until", until,
        "--format", "json",
    )  # fmt: skip
    assert window.status == 0, window.stderr
    (group,) = json.loads(window.stdout)["groups"]
    assert (group["params"], group["traces"]) == ({"ingestion.chunk_size": 256}, 2)


def test_report_refuses_an_unknown_or_ambiguous_param(tmp_path: Path, fixture_file: Path) -> None:
    unknown = ragtel("report", fixture_file, "--by", "chunk_sise")
    assert unknown.status == 2
    assert unknown.stderr.count("\n") == 1
    assert "no trace has this param" in unknown.stderr and "ingestion.chunk_size" in unknown.stderr

    path = tmp_path / "ambiguous.jsonl"
    tracer = get_lastmile_tracer("ambiguous", output_filepath=path)
    with tracer.start_as_current_span("answer"):
        tracer.register_params({"ingestion.model": "a", "generation.model": "b"})
    tracer.shutdown()
    ambiguous = ragtel("report", path, "--by", "model")
    assert ambiguous.status == 2
    assert "ambiguous" in ambiguous.stderr and "generation.model" in ambiguous.stderr


def test_report_counts_late_feedback_sent_from_another_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "traces.jsonl"
    tracer = get_lastmile_tracer("answers", output_filepath=path)
    with tracer.start_as_current_span("answer"):
        tracer.register_param("top_k", 4)
        context = tracer.serialize_span_context()
    tracer.shutdown()
    script = (
        "import sys\n"
        "from ragtel import get_lastmile_tracer\n"
        "t = get_lastmile_tracer('feedback-service', output_filepath=sys.argv[1])\n"
        "t.log_binary_feedback(False, context=sys.argv[2], name='thumbs')\n"
        "t.log_numeric_feedback(0.25, context=sys.argv[2], name='relevance')\n"
        "t.shutdown()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), str(context)], check=True, timeout=60)

    result = ragtel("report", path, "--by", "top_k", "--format", "json")
    (group,) = json.loads(result.stdout)["groups"]
    assert group["traces"] == 1
    assert group["feedback"]["binary_count"] == 1
    assert group["feedback"]["thumbs_up_rate"] == 0.0
    assert group["feedback"]["score_mean"] == 0.25
