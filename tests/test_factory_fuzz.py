"""Fuzzing ``get_lastmile_tracer``: each example builds a tracer from drawn arguments.

The contract and the export check are those of ``fuzz_contract`` and ``fuzz_export``.
"""

from __future__ import annotations

import itertools
import os
import pathlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_contract import Arguments, Refused, call, fuzz_settings
from fuzz_export import (
    EncoderErrors,
    ExportedFile,
    SpanCounter,
    hostile_mask,
    parse_logs_line,
    parse_traces_line,
    validate_spans,
)
from ragtel import LastMileTracer, RagFlowType, get_lastmile_tracer
from ragtel._sdk.exporters import logs_path_for
from ragtel.testing import reset as reset_ragtel
from semconv_check import SESSION_CHECK, check_otlp_json_log_record

_tracer_numbers = itertools.count()
# Exporter values that are refused before anything is built (never otlp or
# console: fuzzing must not open sockets or print).
_refused_exporters = st.one_of(
    st.sampled_from(["bogus", "file,bogus", "jaeger", "fil e"]),
    fs.anything_but(str, list, tuple),
)
_refused_protocols = st.sampled_from(["http/json", "", "GRPC ", b"grpc", 1, ["grpc"]])
_refused_compressions = st.sampled_from(["br", "", b"gzip", 0, ["gzip"]])
_refused_timeouts = st.sampled_from([0, -1.5, "10", b"1", [], -float("inf")])


@fuzz_settings(0.5)
@given(data=st.data())
def test_get_lastmile_tracer(tmp_path: pathlib.Path, data: st.DataObject) -> None:
    arguments = Arguments(data)
    number = next(_tracer_numbers)
    path = tmp_path / f"tracer-{number}.jsonl"
    name = arguments.draw(
        "tracer_name",
        fs.text.filter(bool).map(lambda text: f"{text}-{number}"),
        fs.anything_but(str, type(None)),  # "" and None give a tracer named "" (OTel's rule)
    )
    flow = arguments.draw("rag_flow_type", st.sampled_from([None, *RagFlowType, "query"]))
    flow_alias = arguments.draw("pipeline_type", st.sampled_from([None, flow]))
    options: dict[str, Any] = {
        "lastmile_api_token": arguments.draw("lastmile_api_token", fs.optional_text),
        "project_name": arguments.draw("project_name", fs.optional_text),
        "project_id": arguments.draw("project_id", fs.optional_text),
        "initial_params": arguments.draw(
            "initial_params",
            st.one_of(st.none(), st.dictionaries(fs.param_keys, fs.anything, max_size=4)),
        ),
        "rag_flow_type": flow,
        "pipeline_type": flow_alias,
        "exporter": arguments.draw(
            "exporter", st.sampled_from([None, "file", ["file"], "file,none"]), _refused_exporters
        ),
        "output_filepath": arguments.draw(
            "output_filepath",
            st.sampled_from([str(path), path]),
            # Never a str, bytes or path: fuzzed paths could land anywhere on disk.
            fs.anything_but(str, bytes, os.PathLike).filter(lambda value: value is not None),
        ),
        "capture_content": arguments.draw("capture_content", st.sampled_from([None, True, False])),
        "mask": arguments.draw("mask", st.sampled_from([None, hostile_mask, repr])),
        "record_embeddings": arguments.draw("record_embeddings", st.sampled_from([None, True])),
        "openinference": arguments.draw("openinference", st.sampled_from([None, True, False])),
        "propagate_params": arguments.draw("propagate_params", st.sampled_from([None, True])),
    }
    # Only ever refused values: a valid one would build an OTLP exporter.
    for argument, refused in (
        ("otlp_protocol", _refused_protocols),
        ("otlp_compression", _refused_compressions),
        ("otlp_timeout", _refused_timeouts),
    ):
        if arguments.aside(st.integers(0, 5), f"{argument} given") == 0:
            arguments.wild.add(argument)
            options[argument] = arguments.aside(refused, argument)
    if any(argument.startswith("otlp_") for argument in options):
        options["exporter"] = None  # otlp_* arguments ask for OTLP only without exporter=

    try:
        tracer = call(
            "get_lastmile_tracer",
            arguments,
            lambda: get_lastmile_tracer(name, set_global=False, **options),
        )
        if not isinstance(tracer, Refused):
            assert not any(key.startswith("otlp_") for key in options), "OTLP was not refused"
            check_new_tracer(tracer, path, number)
    finally:
        # Every example starts afresh, as a new process would: no tracers, no provider.
        reset_ragtel()


def check_new_tracer(tracer: LastMileTracer, path: pathlib.Path, number: int) -> None:
    """A trace of the new tracer is exported whole and valid (its root carries the fuzzed
    project attributes and initial params)."""
    counter = SpanCounter()
    tracer.tracer_provider.add_span_processor(counter)  # type: ignore[attr-defined]
    violations = len(SESSION_CHECK.violations)
    try:
        with EncoderErrors().attached() as encoder_errors:
            with tracer.start_as_current_span("app root"):
                tracer.register_param("fuzz.number", number)
                tracer.log(number)  # its scope is the tracer's name too
            assert tracer.force_flush(10_000)
        assert tracer.dropped_span_count() == 0
        assert not encoder_errors.messages, f"attributes dropped: {encoder_errors.messages[:3]}"
        spans = [
            span for line in ExportedFile(path).new_lines() for span in parse_traces_line(line)
        ]
        logs = ExportedFile(logs_path_for(path))
        records = [record for line in logs.new_lines() for record in parse_logs_line(line)]
        if tracer.output_filepaths:
            assert len(spans) == counter.take()
            assert len(records) == 1
        validate_spans(spans)
        for record in records:
            check_otlp_json_log_record(record)
        assert not SESSION_CHECK.violations[violations:]
    finally:
        tracer.shutdown()
