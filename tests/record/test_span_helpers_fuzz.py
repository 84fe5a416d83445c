"""Fuzzing the span conveniences and ``record_span`` (see ``fuzz_contract``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.trace import SpanContext

import fuzz_strategies as fs
from fuzz_arguments import (
    maybe_in_span,
    otel_attributes,
    otel_names,
    param_mappings,
    span_argument,
    valid_contexts,
)
from fuzz_contract import Arguments, Refused, call, fuzz_settings
from fuzz_export import Exported
from ragtel import RAGEventType


@fuzz_settings()
@given(data=st.data())
def test_span_conveniences(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        which = arguments.aside(
            st.sampled_from(["io", "tokens", "tags", "failed", "update"]), "convenience"
        )
        if which == "io":
            value = arguments.aside(fs.anything, "value")
            call("record_io", arguments, lambda: tracer.record_input(value, span))
            call("record_io", arguments, lambda: tracer.record_output(value, span))
        elif which == "tokens":
            counts = [
                arguments.draw(name, st.one_of(st.none(), fs.token_counts))
                for name in ("input_tokens", "output_tokens", "cached_input_tokens")
            ]
            call("set_token_usage", arguments, lambda: tracer.set_token_usage(*counts, span=span))
        elif which == "tags":
            tags = arguments.draw("tags", fs.str_lists)
            call("add_tags", arguments, lambda: tracer.add_tags(tags, span))
        elif which == "failed":
            message = arguments.draw("message", fs.text)
            error_type = arguments.draw("error_type", fs.optional_text)
            call(
                "mark_failed",
                arguments,
                lambda: tracer.mark_failed(message, span, error_type=error_type),
            )
        else:
            fields = update_fields(arguments)
            ignored = call("update_span", arguments, lambda: tracer.update_span(fields, span))
            assert isinstance(ignored, (list, Refused))


def update_fields(arguments: Arguments) -> Any:
    """``update_span``'s fields: known keys with valid or wild values, and unknown keys."""
    known = {
        "input": st.just(None) | fs.anything,
        "output": fs.anything,
        "tags": fs.str_lists,
        "metadata": param_mappings,
        "model": fs.text,
        "input_tokens": fs.token_counts,
        "output_tokens": fs.token_counts,
        "cached_input_tokens": fs.token_counts,
        "status": st.sampled_from(
            ["completed", "failed", "success", "error", "failure", "unknown"]
        ),
        "error": fs.text,
        # Opik's fields.
        "usage": st.fixed_dictionaries(
            {},
            optional={
                "prompt_tokens": fs.token_counts,
                "completion_tokens": fs.token_counts,
                "total_tokens": fs.token_counts,
            },
        ),
        "provider": fs.non_blank_text,
        "total_cost": st.floats(min_value=0, max_value=1e6),
        "attributes": st.dictionaries(st.text(min_size=1, max_size=10), fs.anything, max_size=3),
    }
    chosen = arguments.aside(st.sets(st.sampled_from(sorted(known)), max_size=4), "fields given")
    fields: dict[Any, Any] = {key: arguments.draw(key, known[key]) for key in sorted(chosen)}
    fields.update(arguments.aside(st.dictionaries(fs.hashables, fs.anything, max_size=2), "more"))
    if arguments.aside(st.integers(0, 9), "fields wild") == 0:
        arguments.wild.add("fields")
        return arguments.aside(fs.anything, "fields")
    return fields


@fuzz_settings()
@given(data=st.data())
def test_record_span(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        options = {
            "kind": arguments.draw(
                "kind", st.one_of(st.sampled_from(RAGEventType), st.just("tool_call"))
            ),
            "input": arguments.aside(fs.anything, "input"),
            "output": arguments.aside(fs.anything, "output"),
            "latency": arguments.draw(
                "latency",
                st.one_of(
                    st.none(),
                    st.floats(0, 365 * 24 * 3600.0),
                    st.integers(0, 365 * 24 * 3600),
                ),
            ),
            "status": arguments.draw("status", st.sampled_from(["completed", "failed"])),
            "error": arguments.draw("error", fs.optional_text),
            "attributes": arguments.aside(st.one_of(st.none(), otel_attributes), "attributes"),
            "context": arguments.draw("context", st.one_of(st.none(), valid_contexts())),
        }
        name = arguments.aside(otel_names, "name")
        result = call("record_span", arguments, lambda: tracer.record_span(name, **options))
        assert isinstance(result, (SpanContext, Refused))
