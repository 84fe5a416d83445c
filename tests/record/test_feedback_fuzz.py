"""Fuzzing the feedback helpers (see ``fuzz_contract``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import current_ids, maybe_in_span, valid_contexts
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported
from ragtel import LastMileTracer

unit_scores = st.one_of(
    st.floats(min_value=0, max_value=1), st.sampled_from([0, 1]), st.fractions(0, 1)
)
categories = st.lists(fs.text, min_size=1, max_size=4, unique=True)
json_feedback = fs.anything.filter(
    lambda value: value is not None and not (isinstance(value, str) and not value.strip())
)


def feedback_target(arguments: Arguments, tracer: LastMileTracer) -> dict[str, Any]:
    """Which span the feedback judges: ids, a context, or nothing (inline / project)."""
    target = arguments.aside(
        st.sampled_from(["none", "context", "trace_id", "both ids", "current ids"]), "target"
    )
    given: dict[str, Any] = {}
    if target == "context":
        given["context"] = arguments.draw("context", valid_contexts(lenient=False))
    elif target == "trace_id":
        given["trace_id"] = arguments.draw("trace_id", fs.trace_ids)
    elif target == "both ids":
        given["trace_id"] = arguments.draw("trace_id", fs.trace_ids)
        given["span_id"] = arguments.draw("span_id", fs.span_ids)
    elif target == "current ids" and (ids := current_ids()) is not None:
        given["trace_id"], given["span_id"] = ids
    # Wild ones may come on top of valid ones.
    for name in ("context", "trace_id", "span_id"):
        if name not in given and arguments.aside(st.integers(0, 9), f"{name} added") == 0:
            arguments.wild.add(name)
            given[name] = arguments.aside(fs.anything, name)
    return given


@fuzz_settings(1.5)
@given(data=st.data())
def test_feedback(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        method = arguments.aside(
            st.sampled_from(["binary", "numeric", "categorical", "text", "json"]), "method"
        )
        common = {
            **feedback_target(arguments, tracer),
            "name": arguments.draw("name", st.one_of(st.none(), fs.non_blank_text)),
            "annotator": arguments.draw("annotator", st.sampled_from(["human", "llm", "code"])),
            "explanation": arguments.draw("explanation", fs.optional_text),
            "metadata": arguments.draw(
                "metadata",
                st.one_of(st.none(), st.dictionaries(fs.hashables, fs.anything, max_size=3)),
            ),
        }
        if method == "binary":
            value = arguments.draw("value", st.booleans())
            call(
                "log_binary_feedback",
                arguments,
                lambda: tracer.log_binary_feedback(value, **common),
            )
        elif method == "numeric":
            value = arguments.draw("value", unit_scores)
            # Scales that hold every unit score (a wild one must raise naming scale).
            scale = arguments.draw("scale", st.sampled_from([None, (0, 1), (-1.0, 5), [0, 10]]))
            call(
                "log_numeric_feedback",
                arguments,
                lambda: tracer.log_numeric_feedback(value, **common, scale=scale),
            )
        elif method == "categorical":
            labels = arguments.draw("categories", categories)
            value = arguments.draw(
                "value", st.sampled_from(labels) if isinstance(labels, list) and labels else fs.text
            )
            call(
                "log_categorical_feedback",
                arguments,
                lambda: tracer.log_categorical_feedback(value, labels, **common),
            )
        elif method == "text":
            value = arguments.draw("value", fs.non_blank_text)
            call("log_text_feedback", arguments, lambda: tracer.log_text_feedback(value, **common))
        else:
            value = arguments.draw("feedback", st.one_of(fs.non_blank_text, json_feedback))
            call("log_feedback", arguments, lambda: tracer.log_feedback(value, **common))
