"""Other LangChain instrumentations that already make a span of each run.

OpenInference's and OpenLLMetry's LangChain instrumentors each add a
callback handler to every callback manager, which makes one span per run.
When one is there, ragtel makes no spans of its own for runs: it records its
events and params on the peer's span of each run instead (both handlers
expose it through ``get_span(run_id)``), so no run gets two spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

PEER_HANDLER_MODULES: Final = (
    "openinference.instrumentation.langchain",  # OpenInference: OpenInferenceTracer
    "opentelemetry.instrumentation.langchain",  # OpenLLMetry: TraceloopCallbackHandler
)


def find_peer(handlers: Sequence[Any]) -> Any | None:
    """The first handler of a peer instrumentation that can tell its span of a run."""
    for handler in handlers:
        module = type(handler).__module__
        if module.startswith(PEER_HANDLER_MODULES) and callable(getattr(handler, "get_span", None)):
            return handler
    return None


def peer_span(peer: Any, run_id: Any) -> Any | None:
    """The peer's span of a run, while it is open."""
    try:
        return peer.get_span(run_id)
    except Exception:  # noqa: BLE001 - another library's accessor: not found, then
        return None
