"""LastMile's positional forms of the ParamSet methods; ``clear_params``; ``should_overwrite``."""

from __future__ import annotations

import pytest
from opentelemetry.context import Context
from opentelemetry.trace import Span

from ragtel.testing import SpanRecorder


def params_of(span) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        key.removeprefix("ragtel.param."): value
        for key, value in span.attributes.items()
        if key.startswith("ragtel.param.")
    }


def _two_traces(recorder: SpanRecorder, register) -> None:  # type: ignore[no-untyped-def]
    """Call ``register(given)`` where "given" (trace "mine") is open but "current" (trace "other")
    is the current span: the params must reach the given span's trace, not the current one's."""
    tracer = recorder.tracer()
    with tracer.start_as_current_span("mine"), tracer.start_as_current_span("given") as given:
        other = tracer.start_as_current_span("other", context=Context())
        with other, tracer.start_as_current_span("current"):
            register(given)


def test_register_param_with_the_span_third(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    _two_traces(ragtel_spans, lambda given: tracer.register_param("top_k", 5, given))
    assert params_of(ragtel_spans.by_name("mine")) == {"top_k": 5}
    assert params_of(ragtel_spans.by_name("given")) == {"top_k": 5}
    assert params_of(ragtel_spans.by_name("current")) == {}
    assert params_of(ragtel_spans.by_name("other")) == {}


def test_register_param_with_the_flag_then_the_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    def register(given: Span) -> None:
        tracer.register_param("top_k", 5, False, given)
        tracer.register_param("model", "small", True, given)

    _two_traces(ragtel_spans, register)
    assert params_of(ragtel_spans.by_name("mine")) == {"top_k": 5, "model": "small"}
    assert params_of(ragtel_spans.by_name("given")) == {"model": "small"}
    assert params_of(ragtel_spans.by_name("current")) == {}
    assert params_of(ragtel_spans.by_name("other")) == {}


def test_register_params_with_the_span_third(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    _two_traces(ragtel_spans, lambda given: tracer.register_params({"a": 1, "b": 2}, False, given))
    assert params_of(ragtel_spans.by_name("mine")) == {"a": 1, "b": 2}
    assert params_of(ragtel_spans.by_name("given")) == {"a": 1, "b": 2}
    assert params_of(ragtel_spans.by_name("current")) == {}
    assert params_of(ragtel_spans.by_name("other")) == {}


def test_register_params_with_overwrite_flag_and_span(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()

    def register(given: Span) -> None:
        tracer.register_params({"a": 1}, False, False, given)
        tracer.register_params({"b": 2}, True, False, given)

    _two_traces(ragtel_spans, register)
    mine = ragtel_spans.by_name("mine")
    assert params_of(mine) == {"a": 1, "b": 2}
    assert mine.attributes["ragtel.param_set.removed"] == ("a",)
    assert params_of(ragtel_spans.by_name("current")) == {}
    assert params_of(ragtel_spans.by_name("other")) == {}


def test_ambiguous_forms_raise_type_error_naming_the_argument(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root") as root:
        with pytest.raises(TypeError, match="span given twice"):
            tracer.register_param("k", 1, root, root)
        with pytest.raises(TypeError, match="span given twice"):
            tracer.register_params({"k": 1}, False, root, span=root)
        with pytest.raises(TypeError, match="should_also_save_in_span must be a bool"):
            tracer.register_param("k", 1, "yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="should_also_save_in_span must be a bool"):
            tracer.register_params({"k": 1}, False, "span")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="overwrite must be a bool; got a Span"):
            tracer.register_params({"k": 1}, root)  # type: ignore[arg-type]
        assert tracer.get_params() == {}
    assert params_of(ragtel_spans.by_name("root")) == {}


def test_should_overwrite_is_another_spelling_of_overwrite(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        tracer.register_params({"a": 1})
        tracer.register_params({"b": 2}, should_overwrite=True)
        assert tracer.get_params() == {"b": 2}
        tracer.register_params({"c": 3}, should_overwrite=False)
        tracer.register_params({"d": 4}, overwrite=True, should_overwrite=True)
        assert tracer.get_params() == {"d": 4}
        with pytest.raises(TypeError, match="should_overwrite"):
            tracer.register_params({"e": 5}, overwrite=True, should_overwrite=False)
        with pytest.raises(TypeError, match="should_overwrite must be a bool"):
            tracer.register_params({"e": 5}, should_overwrite="yes")  # type: ignore[arg-type]
    root = ragtel_spans.by_name("root")
    assert params_of(root) == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert root.attributes["ragtel.param_set.removed"] == ("a", "b", "c")


def test_clear_params_keeps_or_clears_the_defaults(ragtel_spans: SpanRecorder) -> None:
    tracer = ragtel_spans.tracer("cleared", initial_params={"model": "small"})
    with tracer.start_as_current_span("first"):
        tracer.register_param("top_k", 5)
        tracer.clear_params()
        assert tracer.get_params() == {}
    assert tracer.get_params() == {"model": "small"}  # the defaults are kept
    with tracer.start_as_current_span("second"):
        tracer.register_param("top_k", 7)
        tracer.clear_params(should_clear_global_params=True)
        assert tracer.get_params() == {}
    assert tracer.get_params() == {}
    with tracer.start_as_current_span("third"):
        pass
    first = ragtel_spans.by_name("first")
    assert first.attributes["ragtel.param_set.removed"] == ("model", "top_k")
    second = ragtel_spans.by_name("second")
    assert second.attributes["ragtel.param_set.removed"] == ("model", "top_k")
    assert params_of(ragtel_spans.by_name("third")) == {}  # started from no defaults


def test_none_in_the_flags_place_is_lastmiles_span_none_and_numbers_count_as_truth(
    ragtel_spans: SpanRecorder,
) -> None:
    tracer = ragtel_spans.tracer()
    with tracer.start_as_current_span("root"):
        tracer.register_param("a", 1, None)  # LastMile's register_param(key, value, span=None)
        tracer.register_params({"b": 2}, False, None)
        tracer.register_param("c", 3, 0)  # a number counts as its truth, as it always did
        tracer.register_param("d", 4, 1)
    root = ragtel_spans.by_name("root")
    assert params_of(root) == {"a": 1, "b": 2, "c": 3, "d": 4}
