"""ragtel side by side with OpenInference and OpenLLMetry: a report, with no target.

Optional: needs ``pip install 'ragtel[bench-peers]'``. Without the peers this
module measures nothing and says so in one line.

Every side gets its own SDK ``TracerProvider``, built the same way: a
``SimpleSpanProcessor`` into an exporter that discards spans. What a library
adds to its provider (ragtel's span processor, OpenLLMetry's ``on_start``
hook) is part of that library's cost. The baseline is a raw SDK span; each
figure is a median per call, each ratio is to that span.

OpenLLMetry configures itself once per process, on the global tracer
provider. It is initialised on first use, with no instrumentations and
nothing sent anywhere: a custom processor, no API key, metrics and logs off.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from itertools import repeat
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Tracer

from benchmarks._timing import Lineup, Sides, Timed
from benchmarks.bench_events import CHUNKS
from benchmarks.bench_events import QUERY as RETRIEVAL_QUERY
from benchmarks.bench_tracer import FILTERS, QUERY, TOP_K, DiscardingExporter, retrieve


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # its parent package is missing
        return False


HAS_OPENINFERENCE = _installed("openinference.instrumentation") and _installed(
    "openinference.semconv"
)
HAS_OPENLLMETRY = _installed("traceloop.sdk")


def _unavailable() -> str | None:
    install = "pip install 'ragtel[bench-peers]'"
    if not HAS_OPENINFERENCE and not HAS_OPENLLMETRY:
        return f"peers: OpenInference and OpenLLMetry are not installed ({install})"
    if not HAS_OPENINFERENCE:
        return f"peers: OpenInference is not installed, its column is left out ({install})"
    if not HAS_OPENLLMETRY:
        return f"peers: OpenLLMetry is not installed, its column is left out ({install})"
    return None


UNAVAILABLE = _unavailable()

RAW, RAGTEL, OPENINFERENCE, OPENLLMETRY = "raw SDK span", "ragtel", "OpenInference", "OpenLLMetry"


class _Side:
    """One side's own SDK provider: a SimpleSpanProcessor into a discarding exporter."""

    def __init__(self, closing: contextlib.ExitStack) -> None:
        self.exporter = DiscardingExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        closing.callback(self.provider.shutdown)


def _check(
    exporter: DiscardingExporter,
    run: Timed,
    attributes: Sequence[str] = (),
    events: Sequence[str] = (),
) -> None:
    """Run one call and check that its span records what the comparison says it does."""
    run(1)
    assert len(exporter.last) == 1, "expected one exported span"
    span = exporter.last[0]
    missing = set(attributes) - set(span.attributes or {})
    missing |= set(events) - {event.name for event in span.events}
    assert not missing, f"{span.name}: missing {sorted(missing)}"


_names = itertools.count(1)


def _ragtel_tracer(side: _Side) -> Any:
    import ragtel

    # A fresh name: get_lastmile_tracer returns the tracer already made under a name.
    return ragtel.get_lastmile_tracer(
        f"ragtel-peers-{next(_names)}", tracer_provider=side.provider, capture_content=True
    )


def _openinference_tracer(side: _Side) -> Any:
    from openinference.instrumentation import OITracer, TraceConfig

    # Inputs and outputs captured, whatever OPENINFERENCE_HIDE_* say.
    config = TraceConfig(hide_inputs=False, hide_outputs=False)
    return OITracer(side.provider.get_tracer("openinference-peers"), config=config)


class _OpenLLMetry:
    """Traceloop's SDK, initialised once per process (it allows no more)."""

    _exporter: DiscardingExporter | None = None

    @classmethod
    def exporter(cls) -> DiscardingExporter:
        """The exporter behind Traceloop's provider, initialising Traceloop first."""
        if cls._exporter is None:
            cls._exporter = cls._initialise()
        return cls._exporter

    @staticmethod
    def _initialise() -> DiscardingExporter:
        # Older releases sent anonymous usage data unless this was false.
        os.environ.setdefault("TRACELOOP_TELEMETRY", "false")
        from opentelemetry.instrumentation.threading import ThreadingInstrumentor
        from traceloop.sdk import Traceloop

        exporter = DiscardingExporter()
        with contextlib.redirect_stdout(io.StringIO()):  # its banner would join the tables
            Traceloop.init(
                app_name="ragtel-peers",
                processor=SimpleSpanProcessor(exporter),
                instruments=set(),  # no library instrumentation: the decorators only
                telemetry_enabled=False,
            )
        # Traceloop patches threading to carry context into new threads; these
        # loops run on one thread, and the benchmarks after this one must not
        # pay for the patch.
        ThreadingInstrumentor().uninstrument()
        return exporter

    @classmethod
    def tracer(cls) -> Tracer:
        from traceloop.sdk.tracing.tracing import TracerWrapper

        cls.exporter()
        tracer: Tracer = TracerWrapper().get_tracer()
        return tracer


@contextlib.contextmanager
def _openllmetry_capturing() -> Iterator[None]:
    # Traceloop reads this on every call: capture on, as on the other sides.
    previous = os.environ.get("TRACELOOP_TRACE_CONTENT")
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TRACELOOP_TRACE_CONTENT", None)
        else:
            os.environ["TRACELOOP_TRACE_CONTENT"] = previous


def _versions() -> str:
    names = ["opentelemetry-sdk", "ragtel"]
    names += ["openinference-instrumentation"] if HAS_OPENINFERENCE else []
    names += ["traceloop-sdk"] if HAS_OPENLLMETRY else []
    return "Peers measured with " + ", ".join(f"{n} {metadata.version(n)}" for n in names) + "."


def _loop(call: Callable[[], object]) -> Timed:
    def timed(loops: int) -> None:
        for _ in repeat(None, loops):
            call()

    return timed


# 1. A decorated function call, capturing arguments and result ------------------


def _prepare_decorated() -> Sides:
    closing = contextlib.ExitStack()
    raw, ours = _Side(closing), _Side(closing)
    sdk_tracer = raw.provider.get_tracer("raw-peers")

    def bare() -> None:
        with sdk_tracer.start_as_current_span("retrieve"):
            retrieve(QUERY, TOP_K, FILTERS)

    baseline = _loop(bare)
    _check(raw.exporter, baseline)
    traced = _ragtel_tracer(ours).trace_function()(retrieve)
    candidates = {RAGTEL: _loop(lambda: traced(QUERY, TOP_K, FILTERS))}
    _check(ours.exporter, candidates[RAGTEL], ("ragtel.input", "ragtel.output"))
    if HAS_OPENINFERENCE:
        theirs = _Side(closing)
        chained = _openinference_tracer(theirs).chain(retrieve)
        candidates[OPENINFERENCE] = _loop(lambda: chained(QUERY, TOP_K, FILTERS))
        _check(theirs.exporter, candidates[OPENINFERENCE], ("input.value", "output.value"))
    if HAS_OPENLLMETRY:
        from traceloop.sdk.decorators import task

        exporter = _OpenLLMetry.exporter()
        closing.enter_context(_openllmetry_capturing())
        tasked = task(name="retrieve")(retrieve)
        candidates[OPENLLMETRY] = _loop(lambda: tasked(QUERY, TOP_K, FILTERS))
        _check(
            exporter, candidates[OPENLLMETRY], ("traceloop.entity.input", "traceloop.entity.output")
        )
    return Sides(baseline, candidates, closing.close, note=_versions())


DECORATED = Lineup(
    name="peers: decorated call recording arguments and result (ragtel `trace_function()`, "
    "OpenInference `@tracer.chain`, OpenLLMetry `@task`)",
    baseline_label=RAW,
    prepare=_prepare_decorated,
)


# 2. A retrieval: a span and 10 retrieved chunks of 500 characters ---------------


def _prepare_retrieval() -> Sides:
    closing = contextlib.ExitStack()
    raw, ours = _Side(closing), _Side(closing)
    sdk_tracer = raw.provider.get_tracer("raw-peers")

    def bare() -> None:
        with sdk_tracer.start_as_current_span("retrieve"):
            pass

    baseline = _loop(bare)
    _check(raw.exporter, baseline)
    ragtel_tracer = _ragtel_tracer(ours)

    def ragtel_retrieval() -> None:
        with ragtel_tracer.start_as_current_span("retrieve"):
            ragtel_tracer.log_retrieval_event(RETRIEVAL_QUERY, CHUNKS)

    candidates = {RAGTEL: _loop(ragtel_retrieval)}
    _check(ours.exporter, candidates[RAGTEL], events=("ragtel.retrieval",))
    if HAS_OPENINFERENCE:
        theirs = _Side(closing)
        candidates[OPENINFERENCE] = _loop(_openinference_retrieval(_openinference_tracer(theirs)))
        _check(
            theirs.exporter,
            candidates[OPENINFERENCE],
            ("input.value", "retrieval.documents.9.document.content"),
        )
    if HAS_OPENLLMETRY:
        candidates[OPENLLMETRY] = _loop(_openllmetry_retrieval(_OpenLLMetry.tracer()))
        _check(_OpenLLMetry.exporter(), candidates[OPENLLMETRY], events=("db.query.result",))
    return Sides(baseline, candidates, closing.close, note=_versions())


def _openinference_retrieval(tracer: Any) -> Callable[[], None]:
    """A retriever span with the query and each document flattened into attributes."""
    from openinference.instrumentation import get_input_attributes, get_retriever_attributes

    def call() -> None:
        with tracer.start_as_current_span("retrieve", openinference_span_kind="retriever") as span:
            documents = [
                {"id": chunk.id, "content": chunk.content, "score": chunk.retrieval_score}
                for chunk in CHUNKS
            ]
            span.set_attributes(get_input_attributes(RETRIEVAL_QUERY))
            span.set_attributes(get_retriever_attributes(documents=documents))

    return call


def _openllmetry_retrieval(tracer: Tracer) -> Callable[[], None]:
    """A span with one ``db.query.result`` event per document, as OpenLLMetry's vector
    store instrumentations (Chroma, for one) record the results of a query."""

    def call() -> None:
        with tracer.start_as_current_span("retrieve") as span:
            for chunk in CHUNKS:
                span.add_event(
                    "db.query.result",
                    {
                        "db.query.result.id": chunk.id,
                        "db.query.result.score": chunk.retrieval_score,
                        "db.query.result.document": chunk.content,
                    },
                )

    return call


RETRIEVAL = Lineup(
    name="peers: retrieval span with 10 chunks × 500 chars (ragtel `log_retrieval_event`, "
    "OpenInference `retrieval.documents.*` attributes, OpenLLMetry `db.query.result` events)",
    baseline_label=RAW,
    prepare=_prepare_retrieval,
)

LINEUPS = [DECORATED, RETRIEVAL] if HAS_OPENINFERENCE or HAS_OPENLLMETRY else []
