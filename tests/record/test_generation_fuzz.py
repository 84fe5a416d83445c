"""Fuzzing ``log_llm_call``, ``log_image_generation`` and ``log_image_output``
(see ``fuzz_contract``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, span_argument, valid_contexts
from fuzz_contract import Arguments, Refused, call, fuzz_settings
from fuzz_export import Exported

llm_params = st.dictionaries(
    st.one_of(
        fs.param_keys,
        st.sampled_from(["temperature", "top_p", "top_k", "max_tokens", "seed", "stop", "model"]),
        st.sampled_from(["messages", "prompt"]),
    ),
    fs.anything,
    max_size=4,
)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]), "content": fs.anything}),
    max_size=3,
)


@fuzz_settings()
@given(data=st.data())
def test_llm_call(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        options = {
            "model": arguments.draw("model", fs.text.filter(bool)),
            "operation": arguments.draw("operation", st.sampled_from(["chat", "text_completion"])),
            "output": arguments.aside(st.one_of(st.none(), fs.anything), "output"),
            "messages": arguments.aside(st.one_of(st.none(), messages, fs.anything), "messages"),
            "prompt": arguments.aside(st.one_of(st.none(), fs.anything), "prompt"),
            "provider": arguments.draw("provider", fs.optional_text),
            "response_model": arguments.draw("response_model", fs.optional_text),
            "params": arguments.draw("params", st.one_of(st.none(), llm_params)),
            "finish_reason": arguments.draw(
                "finish_reason", st.one_of(st.none(), fs.text, fs.str_lists)
            ),
            "input_tokens": arguments.draw("input_tokens", st.one_of(st.none(), fs.token_counts)),
            "output_tokens": arguments.draw("output_tokens", st.one_of(st.none(), fs.token_counts)),
            "cached_input_tokens": arguments.draw(
                "cached_input_tokens", st.one_of(st.none(), fs.token_counts)
            ),
            "cost": arguments.draw("cost", st.one_of(st.none(), fs.non_negative)),
            "latency": arguments.draw("latency", st.one_of(st.none(), fs.non_negative)),
            "stream_chunks": arguments.draw("stream_chunks", st.one_of(st.none(), fs.str_lists)),
            "span": span_argument(arguments, tracer),
        }
        call("log_llm_call", arguments, lambda: tracer.log_llm_call(**options))


@fuzz_settings()
@given(data=st.data())
def test_image_generation_and_output(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        image = image_arguments(arguments)
        options = {
            "prompt": arguments.aside(fs.anything, "prompt"),
            "params": arguments.aside(st.one_of(st.none(), fs.anything), "params"),
            "model": arguments.draw("model", fs.optional_text),
            "span": span_argument(arguments, tracer),
            **image,
        }
        handle = call(
            "log_image_generation", arguments, lambda: tracer.log_image_generation(**options)
        )
        if isinstance(handle, Refused):
            return
        later = Arguments(data)
        context = later.draw("context", st.one_of(st.just(handle), valid_contexts(lenient=False)))
        output = image_arguments(later, required=True)
        call("log_image_output", later, lambda: tracer.log_image_output(context, **output))


def image_arguments(arguments: Arguments, *, required: bool = False) -> dict[str, Any]:
    """The image given by URL, inline data, both or (unless ``required``) neither."""
    form = arguments.aside(st.sampled_from(["url", "data", "both", "neither"]), "image form")
    if required and form == "neither":
        form = "url"
    url = arguments.draw("image_url", fs.text.filter(bool))
    data = arguments.draw("image_data", st.one_of(fs.binary, fs.text))
    image_format = arguments.draw("image_format", fs.text.filter(bool))
    return {
        "image_url": url if form in ("url", "both") or "image_url" in arguments.wild else None,
        "image_url_type": arguments.draw(
            "image_url_type", st.sampled_from([None, "ephemeral", "permalink"])
        ),
        "image_data": data if form in ("data", "both") or "image_data" in arguments.wild else None,
        "image_format": image_format if form in ("data", "both") else None,
    }
