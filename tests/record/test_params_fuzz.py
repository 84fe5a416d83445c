"""Fuzzing ParamSet: ``register_param(s)``, ``clear_params`` and the named param helpers
(see ``fuzz_contract``).
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, param_mappings, span_argument
from fuzz_contract import Arguments, call, fuzz_settings
from fuzz_export import Exported


@fuzz_settings()
@given(data=st.data())
def test_param_set(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        save = arguments.aside(st.booleans(), "should_also_save_in_span")
        sensitive = arguments.aside(st.booleans(), "sensitive")
        operation = arguments.aside(st.sampled_from(["one", "many", "clear"]), "operation")
        if operation == "one":
            key = arguments.draw("key", fs.param_keys)
            value = arguments.aside(fs.anything, "value")
            call(
                "register_param",
                arguments,
                lambda: tracer.register_param(key, value, save, span, sensitive=sensitive),
            )
        elif operation == "many":
            params = arguments.draw("params", param_mappings)
            overwrite = arguments.aside(st.booleans(), "overwrite")
            call(
                "register_params",
                arguments,
                lambda: tracer.register_params(params, overwrite, save, span, sensitive=sensitive),
            )
        else:
            tracer.clear_params()
        assert isinstance(tracer.get_params(), dict)


@fuzz_settings()
@given(data=st.data())
def test_param_helpers(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        span = span_argument(arguments, tracer)
        value = arguments.aside(fs.anything, "value")
        other = arguments.aside(fs.anything, "other value")
        extras = arguments.draw("extras", st.one_of(st.none(), param_mappings))
        model_params = arguments.draw(
            "model_params",
            st.dictionaries(
                st.one_of(fs.param_keys, st.sampled_from(["temperature", "max_tokens", "stop"])),
                fs.anything,
                max_size=4,
            ),
        )
        helpers: dict[str, Callable[[], None]] = {
            "document": lambda: tracer.register_document_preprocess_params(
                value, other, extras, span=span
            ),
            "embedding": lambda: tracer.register_embedding_params(value, other, extras, span=span),
            "query processing": lambda: tracer.register_query_processing_params(
                value, other, value, extras, span=span
            ),
            "retrieval": lambda: tracer.register_retrieval_params(value, other, extras, span=span),
            "generation": lambda: tracer.register_generation_params(
                model_params, extras, span=span
            ),
            "model": lambda: tracer.register_query_model(value, span=span),
            "temperature": lambda: tracer.register_query_temperature(value, span=span),
            "top_p": lambda: tracer.register_query_top_p(value, span=span),
            "chunk size": lambda: tracer.register_ingestion_chunk_size(value, span=span),
            "top_k": lambda: tracer.register_retrieval_top_k(value, span=span),
        }
        helper = arguments.aside(st.sampled_from(sorted(helpers)), "helper")
        call("register_helper", arguments, helpers[helper])
