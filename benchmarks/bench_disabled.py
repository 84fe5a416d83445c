"""The disabled path: what each helper costs when nothing records.

Tracing is off in three ways an app may choose: ``OTEL_SDK_DISABLED=true``, a
``NoOpTracerProvider``, or a sampler that drops everything (``ALWAYS_OFF``).
Each is measured with no span active and inside a span (a non-recording one:
the no-op span, or a sampled-out one). In every such mode each helper must
return before encoding anything, so a call costs about what any Python call
with the same arguments costs: at most 1 µs.

Each mode runs in a fresh interpreter (``OTEL_SDK_DISABLED`` is read when a
provider is created), where every helper and a baseline (a plain function
taking the same arguments) are timed in rotating rounds, gc off, medians
kept. A decorated function is compared with the same function inside the
raw OpenTelemetry span of the same mode instead, and charged only the
difference: the span itself is OpenTelemetry's cost, not ragtel's.

A registration with no span active at all is no no-op: it updates the
tracer's defaults (for every later trace). Its figures are reported beside
the others, but the 1 µs limit applies to registrations inside a span.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

from benchmarks._timing import QUICK, Measurement, Settings, _interleave

LIMIT_MICROSECONDS = 1.0

MODES: dict[str, str] = {
    "noop": "no-op provider",
    "noop-span": "no-op provider, in a span",
    "sdk-disabled": "OTEL_SDK_DISABLED",
    "sdk-disabled-span": "OTEL_SDK_DISABLED, in a span",
    "always-off": "ALWAYS_OFF",
    "always-off-span": "ALWAYS_OFF, in a sampled-out span",
}

# Short rounds: every helper of a mode is one side of the same rotation.
_CHILD_QUICK = Settings(rounds=11, block_seconds=0.004, warmup_seconds=0.02, slow_rounds=1)
_CHILD_FULL = Settings(rounds=41, block_seconds=0.01, warmup_seconds=0.1, slow_rounds=1)

_BASELINE = "a plain call with the same arguments"
_DEFAULTS_UPDATES = frozenset({"register_param", "register_params", "register_generation_params"})
_DECORATOR = "`trace_function()` call, net of the raw OTel span"


def _helpers(tracer: Any, otel_tracer: Any) -> dict[str, Callable[[], Any]]:
    """Each helper called as an app would, with realistic arguments."""
    from ragtel import Chunk, Document, RetrievedChunk

    query = "How long do refunds take to reach my card?"
    text = ("Refunds reach the card in five business days. " * 11)[:500]
    chunks = [RetrievedChunk(f"chunk-{i}", text, retrieval_score=0.9 - i / 20) for i in range(10)]
    reranked = chunks[::-1]
    document = Document("doc-1", text * 4)
    plain_chunks = [Chunk(f"c{i}", text) for i in range(10)]
    embeddings = [[0.01 * j for j in range(256)] for _ in range(10)]
    messages = [{"role": "system", "content": text}, {"role": "user", "content": query}]
    late = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    fields = {"input": query, "output": text, "model": "gpt-4o", "input_tokens": 812}

    @tracer.trace_function()
    def decorated(question: str, top_k: int) -> str:
        return question

    def raw_span(question: str, top_k: int) -> str:
        with otel_tracer.start_as_current_span("decorated"):
            return question

    return {
        "log_retrieval_event": lambda: tracer.log_retrieval_event(query, chunks),
        "log_rerank_event": lambda: tracer.log_rerank_event(chunks, reranked),
        "log_chunking_event": lambda: tracer.log_chunking_event(document, plain_chunks),
        "log_embedding_event": lambda: tracer.log_embedding_event(embeddings),
        "log_query_rewrite_event": lambda: tracer.log_query_rewrite_event(query, [query, query]),
        "log_tool_call_event": lambda: tracer.log_tool_call_event("search", {"q": query}, chunks),
        "log_query_event": lambda: tracer.log_query_event(query, text, system_prompt=text),
        "log_span_event": lambda: tracer.log_span_event(input=query, output=text),
        "log_trace_event": lambda: tracer.log_trace_event(input=query, output=text),
        "log_llm_call": lambda: tracer.log_llm_call(
            model="gpt-4o", messages=messages, output=text, input_tokens=812, output_tokens=96
        ),
        "log_image_generation": lambda: tracer.log_image_generation(
            prompt=query, params={"size": "1024x1024"}, image_url="https://example.com/fox.png"
        ),
        "log_image_output": lambda: tracer.log_image_output(late, image_url="https://e.com/f.png"),
        "register_param": lambda: tracer.register_param("retrieval.top_k", 5),
        "register_params": lambda: tracer.register_params({"top_k": 5, "chunk_size": 512}),
        "register_generation_params": lambda: tracer.register_generation_params(
            {"model": "gpt-4o", "temperature": 0.2, "messages": messages}
        ),
        "get_params": tracer.get_params,
        "log_binary_feedback": lambda: tracer.log_binary_feedback(True),
        "log_feedback": lambda: tracer.log_feedback({"helpful": True, "comment": text}),
        "log_binary_feedback(context=)": lambda: tracer.log_binary_feedback(True, context=late),
        "record_input": lambda: tracer.record_input({"query": query, "chunks": chunks}),
        "record_output": lambda: tracer.record_output(text),
        "set_token_usage": lambda: tracer.set_token_usage(812, 96),
        "add_tags": lambda: tracer.add_tags(["beta", "eu"]),
        "update_span": lambda: tracer.update_span(fields),
        "mark_failed": lambda: tracer.mark_failed("timeout"),
        "trace_function": lambda: decorated(query, 5),
        "raw span": lambda: raw_span(query, 5),
    }


def _tracer_for(mode: str) -> tuple[Any, Any]:
    """The ragtel tracer of ``mode`` and an OTel tracer on the same provider."""
    from opentelemetry import trace

    import ragtel

    if mode.startswith("noop"):
        provider: Any = trace.NoOpTracerProvider()
        tracer = ragtel.get_lastmile_tracer("disabled", tracer_provider=provider)
    elif mode.startswith("sdk-disabled"):
        tracer = ragtel.get_lastmile_tracer("disabled")
        provider = tracer.tracer_provider
    else:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

        provider = TracerProvider(sampler=ALWAYS_OFF)
        tracer = ragtel.get_lastmile_tracer("disabled", tracer_provider=provider)
    return tracer, provider.get_tracer("raw")


def _child(mode: str, quick: bool) -> dict[str, float]:
    """Median nanoseconds per call of every helper in ``mode`` (run in a fresh interpreter)."""
    tracer, otel_tracer = _tracer_for(mode)
    helpers = _helpers(tracer, otel_tracer)

    def plain(*args: Any, **kwargs: Any) -> None:
        return None

    def timed(call: Callable[[], Any]) -> Callable[[int], None]:
        def run(loops: int) -> None:
            for _ in repeat(None, loops):
                call()

        return run

    sides = {
        _BASELINE: timed(lambda: plain("query", [], name=None)),
        **{name: timed(call) for name, call in helpers.items()},
    }
    scope = tracer.start_as_current_span("request") if mode.endswith("span") else None
    if scope is not None:
        scope.__enter__()
    try:
        times, _ = _interleave(list(sides.values()), _CHILD_QUICK if quick else _CHILD_FULL)
    finally:
        if scope is not None:
            scope.__exit__(None, None, None)
    medians = {name: statistics.median(side) for name, side in zip(sides, times, strict=True)}
    medians[_DECORATOR] = medians.pop("trace_function") - medians.pop("raw span")
    return medians


_results: dict[bool, dict[str, dict[str, float]]] = {}


def _run_modes(quick: bool) -> dict[str, dict[str, float]]:
    if quick not in _results:
        root = Path(__file__).resolve().parent.parent
        results: dict[str, dict[str, float]] = {}
        for mode in MODES:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RAGTEL_"))}
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
            if mode.startswith("sdk-disabled"):
                env["OTEL_SDK_DISABLED"] = "true"
            # A scratch directory: a mode that wrote files would not write them here.
            with tempfile.TemporaryDirectory() as scratch:
                completed = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_disabled", mode, *(["quick"] * quick)],
                    cwd=scratch,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=900,
                )
            results[mode] = json.loads(completed.stdout.splitlines()[-1])
        _results[quick] = results
    return _results[quick]


def _measure(helper: str) -> Callable[[Settings], Measurement]:
    def measure(settings: Settings) -> Measurement:
        by_mode = _run_modes(settings is QUICK)
        micros = {mode: figures[helper] / 1000 for mode, figures in by_mode.items()}
        floor = max(figures[_BASELINE] for figures in by_mode.values()) / 1000
        limited = [
            mode for mode in micros if helper not in _DEFAULTS_UPDATES or mode.endswith("span")
        ]
        worst = max(limited, key=lambda mode: micros[mode])
        detail = "; ".join(
            f"{MODES[mode]} {value:.2f}"
            + ("" if mode in limited else " (no span: updates the defaults)")
            for mode, value in micros.items()
        )
        return Measurement(
            name=f"disabled: {helper}" if helper == _DECORATOR else f"disabled: `{helper}`",
            value=micros[worst],
            unit="µs",
            limit=LIMIT_MICROSECONDS,
            detail=f"worst in {MODES[worst]}. {detail} (a plain call: ≤ {floor:.2f})",
        )

    return measure


_MEASURED = [
    "log_retrieval_event",
    "log_rerank_event",
    "log_chunking_event",
    "log_embedding_event",
    "log_query_rewrite_event",
    "log_tool_call_event",
    "log_query_event",
    "log_span_event",
    "log_trace_event",
    "log_llm_call",
    "log_image_generation",
    "log_image_output",
    "register_param",
    "register_params",
    "register_generation_params",
    "get_params",
    "log_binary_feedback",
    "log_feedback",
    "log_binary_feedback(context=)",
    "record_input",
    "record_output",
    "set_token_usage",
    "add_tags",
    "update_span",
    "mark_failed",
    _DECORATOR,
]

MEASUREMENTS = [(f"disabled: {helper}", _measure(helper)) for helper in _MEASURED]


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2:] == ["quick"])))
