"""Where ragtel enters LangChain: every run's callback manager, and scopes around entry points.

LangChain builds the callback manager of every run with
``CallbackManager.configure`` (or its async twin), from the callbacks of the
call's config. Each manager built there gets ragtel's handler as an
inheritable handler, once, so every run reaches it (child runs inherit it),
with or without callbacks configured by the application. Hooking
``configure`` rather than every manager's ``__init__`` touches one manager
per run instead of several.

Beside a peer instrumentation's handler, ragtel's goes just before it: the
peer ends its span of a run in its end callback, and ragtel records on that
span in its own (see ``peers``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

from ragtel.instrumentation._base import Patches, Wrapper
from ragtel.instrumentation.langchain.handler import RagtelCallbackHandler
from ragtel.instrumentation.langchain.peers import find_peer
from ragtel.instrumentation.langchain.scope import async_scope, sync_scope
from ragtel.instrumentation.langchain.spans import log_failure

# (module, class, synchronous entry point, its coroutine form): the calls of
# runnables, retrievers, models and tools that scopes open around.
_ENTRY_POINTS: Final = (
    ("langchain_core.runnables.base", "RunnableSequence", "invoke", "ainvoke"),
    ("langchain_core.runnables.base", "RunnableParallel", "invoke", "ainvoke"),
    ("langchain_core.runnables.base", "RunnableLambda", "invoke", "ainvoke"),
    ("langchain_core.retrievers", "BaseRetriever", "invoke", "ainvoke"),
    ("langchain_core.language_models.chat_models", "BaseChatModel", "generate", "agenerate"),
    ("langchain_core.language_models.llms", "BaseLLM", "generate", "agenerate"),
    ("langchain_core.tools.base", "BaseTool", "run", "arun"),
)


def instrument_entry_points(handler: RagtelCallbackHandler, patches: Patches) -> None:
    from langchain_core.callbacks import AsyncCallbackManager, CallbackManager

    patches.wrap(CallbackManager, "configure", _adding(handler))
    patches.wrap(AsyncCallbackManager, "configure", _adding(handler))
    for module_name, class_name, sync_name, async_name in _ENTRY_POINTS:
        owner = getattr(importlib.import_module(module_name), class_name)
        patches.wrap(owner, sync_name, sync_scope)
        patches.wrap(owner, async_name, async_scope)


def _adding(handler: RagtelCallbackHandler) -> Wrapper:
    def configure(
        wrapped: Callable[..., Any],
        owner: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            if handler.enabled:
                peer = find_peer(manager.handlers)
                handler.peer = peer
                manager.handlers = _with(manager.handlers, handler, peer)
                manager.inheritable_handlers = _with(manager.inheritable_handlers, handler, peer)
        except Exception:  # noqa: BLE001 - the run goes on, untraced
            log_failure("callback manager")
        return manager

    return configure


def _with(handlers: list[Any], handler: Any, peer: Any) -> list[Any]:
    """``handlers`` with ``handler`` once: last, or just before ``peer`` if it is there.

    A new list when it changes: the one given may be the caller's.
    """
    present = any(h is handler for h in handlers)
    if peer is None or not any(h is peer for h in handlers):
        return handlers if present else [*handlers, handler]
    others = [h for h in handlers if h is not handler]
    position = next(i for i, h in enumerate(others) if h is peer)
    if present and handlers.index(handler) < handlers.index(peer):
        return handlers
    return [*others[:position], handler, *others[position:]]
