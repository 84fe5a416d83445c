"""Scopes around LangChain's entry points: where a run's span may safely become current.

LangChain reports a run through callbacks, start and end, which may come from
other threads or tasks. Making a run's span current from a start callback
(so that what the run calls — an embedding model, an HTTP client, another
instrumentation — nests under it) is safe only if the context is certain to
be put back afterwards. A context left holding a span whose end never came
would make every later span of that thread a child of it.

So the span is made current only inside a *scope*: a wrapper around a
LangChain entry point (``invoke``/``ainvoke`` of retrievers and runnables,
``generate`` of models, ``run`` of tools) that restores the caller's context
when the call returns, whatever the callbacks did. Inside it, LangChain runs
each step in a copy of the context that is discarded with the step. Outside
any scope (streams, custom runnables), spans are never made
current: the tree of LangChain's spans is unchanged (parents come from run
ids), only calls made inside a run nest under the span that was current when
LangChain was called.

A scope also carries the object whose entry point it wraps, for the one start
callback that describes that object (a retriever's ``top_k`` is not in its
callbacks), and collects the scores its vector store computed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

_SCOPE: Final[contextvars.ContextVar[Scope | None]] = contextvars.ContextVar(
    "ragtel_langchain_scope", default=None
)


@dataclass(slots=True, eq=False)
class Scope:
    """One call of a LangChain entry point."""

    instance: Any
    call_kwargs: dict[str, Any]
    claimed: bool = False
    scores: dict[int, tuple[Any, float]] = field(default_factory=dict)
    """id(document) → (document, score), from the vector store searches of this call."""
    run_id: Any = None
    """Beside a peer instrumentation: the call's run, whose span is the peer's."""
    peer: Any = None

    def score_of(self, document: Any) -> float | None:
        found = self.scores.get(id(document))
        # The document is kept with its score, so an id is never matched to
        # another object that reused the address.
        return found[1] if found is not None and found[0] is document else None


def claim(instance_type: type) -> Scope | None:
    """The current scope, if it wraps an ``instance_type`` and no run has claimed it yet.

    The first start callback of a call is its own run's: a run started inside
    it (a nested retriever that was not called through a scope) finds the
    scope claimed and does not take the outer object for its own.
    """
    scope = _SCOPE.get()
    if scope is None or scope.claimed or not isinstance(scope.instance, instance_type):
        return None
    scope.claimed = True
    return scope


def current() -> Scope | None:
    return _SCOPE.get()


def note_peer_run(run_id: Any, peer: Any) -> None:
    """Beside a peer, which makes no span current: remember the call's run for its span.

    The calls ragtel wraps directly inside it (an embedding model called by a
    retriever) then nest under the peer's span of that run.
    """
    scope = _SCOPE.get()
    if scope is not None and scope.run_id is None:
        scope.run_id, scope.peer = run_id, peer


def peer_parent() -> Span | None:
    """The peer's span of the current call's run, if a peer makes the runs' spans."""
    scope = _SCOPE.get()
    if scope is None or scope.peer is None:
        return None
    try:
        span: Span | None = scope.peer.get_span(scope.run_id)
    except Exception:  # noqa: BLE001 - another library's accessor: no parent, then
        return None
    return span


def make_current(span: Span) -> Context | None:
    """Make ``span`` current if inside a scope; returns the context to restore at the run's end."""
    if _SCOPE.get() is None:
        return None
    previous = context_api.get_current()
    context_api.attach(trace.set_span_in_context(span, previous))
    return previous


def restore(span: Span, previous: Context | None) -> None:
    """Put back the context from before ``span`` was made current, if it still is current.

    The scope puts it back anyway when its call returns; this keeps what the
    caller does after the run, inside the same call, from nesting under it.
    """
    if previous is not None and trace.get_current_span() is span:
        context_api.attach(previous)


def sync_scope(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """A wrapper opening a scope around a synchronous entry point."""
    scope_token = _SCOPE.set(Scope(instance, kwargs))
    # Attaching the current context only to get a token: detaching it puts
    # back exactly this context, whatever was attached in between.
    context_token = context_api.attach(context_api.get_current())
    try:
        return wrapped(*args, **kwargs)
    finally:
        context_api.detach(context_token)
        _SCOPE.reset(scope_token)


def async_scope(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Coroutine[Any, Any, Any]:
    """A wrapper opening a scope around a coroutine entry point, for as long as it runs."""
    # Called now, as without the wrapper: a bad call raises here, not when awaited.
    coroutine = wrapped(*args, **kwargs)

    async def scoped() -> Any:
        scope_token = _SCOPE.set(Scope(instance, kwargs))
        context_token = context_api.attach(context_api.get_current())
        try:
            return await coroutine
        finally:
            context_api.detach(context_token)
            _SCOPE.reset(scope_token)

    return scoped()
