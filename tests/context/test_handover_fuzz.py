"""Fuzzing the context hand-over helpers and request ids (see ``fuzz_contract``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, span_argument
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported
from ragtel import (
    context_from_request_id,
    export_span,
    get_distributed_trace_headers,
    get_span_id,
    get_trace_id,
    get_traceparent,
    serialize_span_context,
    trace_id_from_request_id,
)
from ragtel._context.ids import parse_span_id, parse_trace_id


@fuzz_settings()
@given(data=st.data())
def test_context_helpers(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        helpers: list[Callable[[Any], Any]] = [
            get_traceparent,
            serialize_span_context,
            get_distributed_trace_headers,
            tracer.get_traceparent,
            tracer.serialize_span_context,
            tracer.get_distributed_trace_headers,
            export_span,
            tracer.export_span,
            get_trace_id,
            get_span_id,
            tracer.get_trace_id,
            tracer.get_span_id,
        ]
        for helper in helpers:
            result = call("context_helpers", arguments, lambda helper=helper: helper(span))
            if isinstance(result, str):
                # What a helper hands over must be taken back, by any ragtel tracer.
                tracer.start_span("app continued", context=result).end()
            elif isinstance(result, int) and result:
                # An id a helper gives is taken back as its decimal string, LastMile's form.
                span_ids = (get_span_id, tracer.get_span_id)
                parse = parse_span_id if helper in span_ids else parse_trace_id
                assert parse(str(result)) == result
        request_id = arguments.draw("request_id", fs.request_ids)
        trace_id = call("context_helpers", arguments, lambda: trace_id_from_request_id(request_id))
        traceparent = call(
            "context_helpers", arguments, lambda: context_from_request_id(request_id)
        )
        if isinstance(traceparent, str):
            started = tracer.start_span("app request", context=traceparent)
            started.end()
            assert f"{started.get_span_context().trace_id:032x}" == trace_id
