"""The rules every Hypothesis fuzz test of the public API checks, and what they share.

The fuzz tests (``tests/**/test_*_fuzz.py``) sit next to the tests of the
module whose API they drive; this module holds their call contract,
``fuzz_arguments`` the arguments many APIs share and ``fuzz_export`` the
export check.

Each test drives one family of entry points with arguments drawn either valid
or wild (see ``fuzz_strategies``: nested and self-referencing containers,
huge strings, lone surrogates, bytes, NaN and infinities, huge ints, objects
whose ``repr``/``str`` raise). Two rules are checked after every example:

* **The call contract.** A call either succeeds, or raises exactly an
  exception type documented for one of its wild arguments, with a message
  naming that argument (:data:`DOCUMENTED`). A call whose arguments were all
  drawn valid must succeed.
* **The export.** Every span that ended was written to the tracer's OTLP JSON
  Lines file, none was dropped, and every line parses with protobuf's
  ``json_format.Parse`` into ``ExportTraceServiceRequest`` (log records into
  ``ExportLogsServiceRequest``), unknown fields refused; the exported
  attributes pass the semantic-convention check.

Arguments ragtel hands to the OpenTelemetry SDK untouched, as the OTel API
does (span names, ``attributes=``, links), are drawn within that API's
contract: valid UTF-8 text, 64-bit ints. OTLP exporter arguments are drawn
only among values refused before anything is built: fuzzing opens no socket.

The ``ci`` profile draws 50 examples per test in CI and two fifths of them
elsewhere (see ``example_budget``); ``RAGTEL_FUZZ_PROFILE=ci`` draws all 50
anywhere, ``RAGTEL_FUZZ_PROFILE=long`` 2,500.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import fuzz_strategies as fs
from example_budget import examples

T = TypeVar("T")

# Profiles ------------------------------------------------------------------------

# Function-scoped fixtures are shared by every example of a test on purpose:
# one set of tracers per test (creating providers per example would dominate
# the run), checked after each example. The example database is off, so a fresh
# machine and a developer's behave alike (no replay of examples saved by earlier
# runs). Not derandomized: each run explores new inputs, and a failure prints
# the draws that reproduce it.
for name, count in (("ci", 50), ("long", 2_500)):
    settings.register_profile(
        name,
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
# Applied per test rather than loaded globally, so other test files keep their own settings.
PROFILE_CHOSEN = os.environ.get("RAGTEL_FUZZ_PROFILE")
PROFILE = settings.get_profile(PROFILE_CHOSEN or "ci")


def fuzz_settings(share: float = 1.0) -> settings:
    """The profile, with ``share`` of its examples (for tests that cost more per example)."""
    count = max(10, int(PROFILE.max_examples * share))
    return settings(PROFILE, max_examples=count if PROFILE_CHOSEN else examples(count))


# The call contract ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Documented:
    """The exceptions one argument may raise, and what their message must mention."""

    errors: tuple[type[Exception], ...]
    mentions: tuple[str, ...]


def _doc(*errors: type[Exception], mentions: str | tuple[str, ...]) -> Documented:
    return Documented(errors, (mentions,) if isinstance(mentions, str) else mentions)


TYPE = (TypeError,)
VALUE = (ValueError,)
BOTH = (TypeError, ValueError)


def _arguments(**documented: tuple[type[Exception], ...]) -> dict[str, Documented]:
    """Arguments whose message names the argument itself."""
    return {name: _doc(*errors, mentions=name) for name, errors in documented.items()}


_SPAN = _arguments(span=TYPE)
_CONTEXT = _arguments(context=BOTH)
_LABELS = _arguments(session_id=TYPE, user_id=TYPE, tags=TYPE, metadata=BOTH)
_FEEDBACK_COMMON = _arguments(
    trace_id=VALUE,
    span_id=VALUE,
    context=BOTH,
    name=TYPE,
    annotator=VALUE,
    explanation=TYPE,
    metadata=TYPE,
)
_EVENT_COMMON = {**_arguments(name=TYPE), **_SPAN}

DOCUMENTED: dict[str, dict[str, Documented]] = {
    "get_lastmile_tracer": {
        **_arguments(
            tracer_name=TYPE,
            lastmile_api_token=TYPE,
            project_name=TYPE,
            project_id=TYPE,
            initial_params=BOTH,
            rag_flow_type=VALUE,
            exporter=BOTH,
            output_filepath=TYPE,
            otlp_protocol=VALUE,
            otlp_compression=VALUE,
            otlp_timeout=VALUE,
        ),
        # An alias: its messages name both spellings.
        "pipeline_type": _doc(ValueError, mentions="rag_flow_type"),
    },
    "start_span": {**_CONTEXT, **_LABELS},
    "trace_function": _CONTEXT,
    "traced": {**_CONTEXT, **_arguments(tracer=TYPE)},
    "register_param": {**_arguments(key=BOTH), **_SPAN},
    "register_params": {**_arguments(params=BOTH), **_SPAN},
    "register_helper": {
        **_arguments(extras=BOTH, model_params=BOTH),
        **_SPAN,
    },
    "using_attributes": _LABELS,
    "log_trace_event": {},
    "log_span_event": {**_arguments(event_kind=VALUE), **_EVENT_COMMON},
    "log_chunking_event": {
        **_arguments(input_document=BOTH, output_chunks=BOTH),
        **_EVENT_COMMON,
    },
    "log_embedding_event": {**_arguments(embeddings=TYPE), **_EVENT_COMMON},
    "log_query_rewrite_event": {
        **_arguments(query=TYPE, rewritten_query=TYPE),
        **_EVENT_COMMON,
    },
    "log_retrieval_event": {
        **_arguments(query=TYPE, retrieved_data=BOTH),
        **_EVENT_COMMON,
    },
    "log_rerank_event": {**_arguments(retrieved=BOTH, reranked=BOTH), **_EVENT_COMMON},
    "log_tool_call_event": {**_arguments(tool=TYPE), **_EVENT_COMMON},
    "log_query_event": {
        **_arguments(query=TYPE, response=TYPE, system_prompt=TYPE),
        **_EVENT_COMMON,
    },
    "log_prompt_composition_event": {**_arguments(resolved_prompt=TYPE), **_EVENT_COMMON},
    "log_template_event": {
        **_arguments(prompt_template=TYPE, resolved_prompt=TYPE, system_prompt=TYPE),
        **_EVENT_COMMON,
    },
    "log_synthesize_event": _EVENT_COMMON,
    "add_rag_event": {**_arguments(event_name=TYPE), **_SPAN},
    "set_rag_flow_type": _arguments(flow_type=VALUE, ingestion_trace_id=VALUE),
    "log_llm_call": {
        **_arguments(
            model=TYPE,
            operation=TYPE,
            provider=TYPE,
            response_model=TYPE,
            params=BOTH,
            finish_reason=TYPE,
            input_tokens=BOTH,
            output_tokens=BOTH,
            cached_input_tokens=BOTH,
            cost=BOTH,
            latency=BOTH,
            stream_chunks=TYPE,
        ),
        **_SPAN,
    },
    "log_image_generation": {
        **_arguments(
            model=TYPE,
            image_url=TYPE,
            image_url_type=VALUE,
            # Given without image_format: "image_format must name the format of image_data".
            image_data=BOTH,
            image_format=VALUE,
        ),
        **_SPAN,
    },
    "log_image_output": {
        **_arguments(
            context=BOTH,
            # With neither: "log_image_output needs image_url or image_data".
            image_url=BOTH,
            image_url_type=VALUE,
            image_data=BOTH,
            image_format=VALUE,
        ),
    },
    "log_feedback": {**_FEEDBACK_COMMON, **_arguments(feedback=BOTH, scale=BOTH)},
    "log_binary_feedback": {**_FEEDBACK_COMMON, **_arguments(value=TYPE)},
    "log_numeric_feedback": {**_FEEDBACK_COMMON, **_arguments(value=BOTH, scale=BOTH)},
    "log_text_feedback": {**_FEEDBACK_COMMON, **_arguments(value=BOTH)},
    "log_categorical_feedback": {
        **_FEEDBACK_COMMON,
        **_arguments(value=BOTH),
        "categories": _doc(TypeError, ValueError, mentions="categor"),
    },
    "log": _arguments(logger=TYPE),
    "context_helpers": {**_SPAN, **_arguments(request_id=BOTH)},
    "trace_id_store": _arguments(key=BOTH, trace_id=VALUE, span_id=VALUE),
    "record_io": _SPAN,
    "set_token_usage": {
        **_arguments(input_tokens=BOTH, output_tokens=BOTH, cached_input_tokens=BOTH),
        **_SPAN,
    },
    "add_tags": {**_arguments(tags=TYPE), **_SPAN},
    "mark_failed": {**_arguments(message=TYPE, error_type=TYPE), **_SPAN},
    "update_span": {
        **_arguments(
            fields=TYPE,
            status=VALUE,
            tags=TYPE,
            metadata=BOTH,
            model=TYPE,
            error=TYPE,
            input_tokens=BOTH,
            output_tokens=BOTH,
            cached_input_tokens=BOTH,
            usage=BOTH,
            provider=TYPE,
            total_cost=BOTH,
            attributes=TYPE,
        ),
        **_SPAN,
    },
    "record_span": {
        **_arguments(kind=VALUE, latency=VALUE, status=VALUE, error=TYPE),
        **_CONTEXT,
    },
}
"""Per API, the exceptions each argument is documented to raise (README and docs/)."""


class Arguments:
    """Draws the arguments of one call, each valid or wild, and remembers the wild ones."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data
        # Half the examples draw every argument valid: those calls must succeed.
        self._may_be_wild = data.draw(st.booleans(), label="wild arguments allowed")
        self.wild: set[str] = set()

    def draw(
        self,
        name: str,
        valid: st.SearchStrategy[Any],
        wild: st.SearchStrategy[Any] = fs.anything,
    ) -> Any:
        # One argument in four is wild: most calls get past validation, and the
        # error of a refused one can be traced to the argument that caused it.
        if self._may_be_wild and self._data.draw(
            st.integers(0, 3).map(lambda n: n == 0), label=f"{name} is wild"
        ):
            self.wild.add(name)
            return self._data.draw(wild, label=name)
        return self._data.draw(valid, label=name)

    def aside(self, strategy: st.SearchStrategy[T], label: str) -> T:
        """A draw that is no argument (a choice of the test)."""
        return self._data.draw(strategy, label=label)


class Refused:
    """What :func:`call` returns when the call raised a documented error."""


REFUSED = Refused()


def call(api: str, arguments: Arguments, invoke: Callable[[], T]) -> T | Refused:
    """Run ``invoke``; an exception must be documented for one of the wild arguments."""
    try:
        return invoke()
    except Exception as error:  # noqa: BLE001 - every error is checked against the contract
        assert_documented(api, arguments.wild, error)
        return REFUSED


def assert_documented(api: str, wild: set[str], error: Exception) -> None:
    contract = DOCUMENTED[api]
    message = str(error)
    for name in sorted(wild):
        documented = contract.get(name)
        if (
            documented is not None
            and type(error) in documented.errors  # exactly: a subclass is another error
            and any(mention in message for mention in documented.mentions)
        ):
            return
    raise AssertionError(
        f"{api} raised {type(error).__name__}({message[:500]!r}), which is not documented "
        f"for its wild arguments {sorted(wild)}"
    ) from error
