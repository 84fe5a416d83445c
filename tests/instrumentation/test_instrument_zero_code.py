"""Zero-code set-up: ``opentelemetry-instrument`` finds ragtel through its entry points."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.sdk._configuration import _BaseConfigurator

from test_examples import EXAMPLES, FileSpan, example_env, read_jsonl_spans

INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"
INSTRUMENTORS = {"ragtel-openai", "ragtel-langchain", "ragtel-llama-index"}


def entry_points(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=group)}


def test_the_distro_configurator_and_instrumentors_are_registered() -> None:
    assert issubclass(type(entry_points("opentelemetry_distro")["ragtel"].load()()), BaseDistro)
    configurator = entry_points("opentelemetry_configurator")["ragtel"].load()
    assert issubclass(configurator, _BaseConfigurator)
    instrumentors = entry_points("opentelemetry_instrumentor")
    assert set(instrumentors) >= INSTRUMENTORS
    for name in INSTRUMENTORS:
        assert issubclass(instrumentors[name].load(), BaseInstrumentor), name


# OpenInference's instrumentors (installed for the coexistence tests) load too; here
# they are switched off the standard way, so ragtel's own are the ones recording.
PEERS_OFF = "openai,langchain,llama_index"


def run_zero_code(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    env.setdefault("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", PEERS_OFF)
    return subprocess.run(
        [str(INSTRUMENT), sys.executable, str(EXAMPLES / "zero_code_rag.py")],
        cwd=tmp_path,
        env=example_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def by_trace(spans: list[FileSpan]) -> dict[str, list[FileSpan]]:
    traces: dict[str, list[FileSpan]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return traces


@pytest.mark.integration
def test_opentelemetry_instrument_records_the_pipeline_with_its_params(tmp_path: Path) -> None:
    run = run_zero_code(tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("Within five working days.") == 2  # the app is unchanged

    spans = read_jsonl_spans(tmp_path / "ragtel-traces.jsonl")  # the embedded default
    query_traces = [
        trace
        for trace in by_trace(spans).values()
        if {"retrieval VectorStoreRetriever", "chat fake-list-chat-model"}
        <= {s.name for s in trace}
    ]
    assert len(query_traces) == 4, [[s.name for s in t] for t in by_trace(spans).values()]
    seen = set()
    for trace in query_traces:
        (root,) = [s for s in trace if s.parent_id is None]
        params = {k: v for k, v in root.attributes.items() if k.startswith("ragtel.param.")}
        seen.add(
            (
                params.get("ragtel.param.ingestion.chunk_size"),
                params.get("ragtel.param.retrieval.top_k"),
            )
        )
    # Each configuration of the sweep is on the traces it answered.
    assert seen == {(80, 1), (160, 2)}, seen


@pytest.mark.integration
def test_a_disabled_instrumentation_records_nothing(tmp_path: Path) -> None:
    run = run_zero_code(
        tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=f"{PEERS_OFF},ragtel-langchain"
    )
    assert run.returncode == 0, run.stderr
    path = tmp_path / "ragtel-traces.jsonl"
    names = [] if not path.exists() else [s.name for s in read_jsonl_spans(path)]
    assert names == []


def test_import_ragtel_loads_no_instrumentation_or_instrumented_library() -> None:
    script = (
        "import sys, ragtel, ragtel.instrumentation\n"
        "ragtel.get_lastmile_tracer\n"
        "heavy = [m for m in ('opentelemetry.instrumentation', 'openai', 'langchain_core', "
        "'llama_index', 'wrapt') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "[]"
