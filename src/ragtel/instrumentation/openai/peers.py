"""Other instrumentations that already make the LLM span of an OpenAI call.

When one of them records the call, ragtel's OpenAI instrumentor steps aside
(see :mod:`ragtel.instrumentation.openai.wrappers`), so a call never gets two
LLM spans:

* a peer OpenAI instrumentor is active (OpenInference's, OpenLLMetry's or
  OpenTelemetry's ``openai_v2``): it makes a span of every call;
* the current span is the model-call span of ragtel's LangChain or
  LlamaIndex instrumentor: the framework's model (``ChatOpenAI``, LlamaIndex's
  ``OpenAI``...) is calling the SDK from inside the span that records it.
"""

from __future__ import annotations

import sys
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from ragtel.semconv.references import GEN_AI_OPERATION_NAME

PEER_INSTRUMENTORS: Final = (
    ("openinference.instrumentation.openai", "OpenAIInstrumentor"),  # OpenInference
    ("opentelemetry.instrumentation.openai", "OpenAIInstrumentor"),  # OpenLLMetry
    ("opentelemetry.instrumentation.openai_v2", "OpenAIInstrumentor"),  # OpenTelemetry contrib
)
"""(module, class) of each instrumentor that records OpenAI calls as LLM spans."""

_RAGTEL_SCOPES: Final = __name__.rsplit(".", 2)[0] + "."
"""Instrumentation scopes of ragtel's instrumentors start so: each is named for its package,
a sibling of this one under ``ragtel.instrumentation``."""

_SAME_CALL: Final = {"chat": ("chat", "text_completion"), "embeddings": ("embeddings",)}
"""For an SDK operation, the operations of a framework span that records the same call."""


def active_peer() -> str | None:
    """The module of a peer instrumentor that is instrumenting now, if any.

    Checked on every call, so the order in which the instrumentors were
    switched on does not matter, nor does one being switched off later. An
    instrumentor whose module was never imported cannot be active, so nothing
    is imported here.
    """
    for module_name, class_name in PEER_INSTRUMENTORS:
        module = sys.modules.get(module_name)
        instrumentor_class = getattr(module, class_name, None) if module is not None else None
        # BaseInstrumentor is a singleton: the instance that instrument() was called on.
        instance = getattr(instrumentor_class, "_instance", None)
        if instance is not None and getattr(instance, "is_instrumented_by_opentelemetry", False):
            return module_name
    return None


def framework_call_span_is_current(operation: str, own_scope: str) -> bool:
    """Whether the current span is another ragtel instrumentor's span of this very model call.

    That is a recording CLIENT span of a ragtel instrumentation scope other
    than ``own_scope``, of the same kind of call (its ``gen_ai.operation.name``,
    or the operation its name starts with).
    """
    span = trace.get_current_span()
    if not span.is_recording() or getattr(span, "kind", None) is not SpanKind.CLIENT:
        return False
    scope = getattr(getattr(span, "instrumentation_scope", None), "name", None)
    if not isinstance(scope, str) or not scope.startswith(_RAGTEL_SCOPES) or scope == own_scope:
        return False
    # Named "{operation} {model}" from the start, as GenAI spans are; the
    # operation attribute may only be recorded when the call ends.
    attributes = getattr(span, "attributes", None) or {}
    name = getattr(span, "name", None)
    recorded_operation = attributes.get(GEN_AI_OPERATION_NAME) or (
        name.split(" ", 1)[0] if isinstance(name, str) else None
    )
    return recorded_operation in _SAME_CALL.get(operation, ())


def recorded_elsewhere(operation: str, own_scope: str) -> bool:
    """Whether another instrumentation makes the LLM span of this call."""
    return active_peer() is not None or framework_call_span_is_current(operation, own_scope)
