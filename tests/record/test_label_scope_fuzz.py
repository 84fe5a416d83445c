"""Fuzzing the label scopes: ``using_attributes`` and its shorthands, as context managers
and decorators (see ``fuzz_contract``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fs
from fuzz_arguments import maybe_in_span, param_mappings
from fuzz_contract import Arguments, Refused, call, fuzz_settings
from fuzz_export import Exported


@fuzz_settings()
@given(data=st.data())
def test_context_attribute_scopes(exported: Exported, data: st.DataObject) -> None:
    tracer = exported.draw(data)
    arguments = Arguments(data)
    with exported.example(), maybe_in_span(arguments, tracer):
        labels = {
            "session_id": arguments.draw("session_id", st.one_of(st.none(), fs.text.filter(bool))),
            "user_id": arguments.draw("user_id", st.one_of(st.none(), fs.text.filter(bool))),
            "tags": arguments.draw("tags", st.one_of(st.none(), fs.str_lists)),
            "metadata": arguments.draw("metadata", st.one_of(st.none(), param_mappings)),
        }
        shorthand = arguments.aside(st.sampled_from(["all", *labels]), "shorthand")
        factories: dict[str, Callable[[], Any]] = {
            "all": lambda: tracer.using_attributes(**labels),
            "session_id": lambda: tracer.using_session(labels["session_id"]),
            "user_id": lambda: tracer.using_user(labels["user_id"]),
            "tags": lambda: tracer.using_tags(labels["tags"]),
            "metadata": lambda: tracer.using_metadata(labels["metadata"]),
        }
        scope = call("using_attributes", arguments, factories[shorthand])
        if isinstance(scope, Refused):
            return
        if arguments.aside(st.booleans(), "as decorator"):
            scope(lambda: tracer.start_span("app labelled").end())()
        else:
            with scope:
                tracer.start_span("app labelled").end()
