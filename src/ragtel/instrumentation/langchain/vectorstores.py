"""Scores of vector store searches, handed to the retrieval that asked for them.

A ``VectorStoreRetriever`` returns documents without their scores, though its
vector store computed them: ``similarity_search`` is usually built on
``similarity_search_with_score``. Those scored searches are wrapped on every
``VectorStore`` subclass; inside a retriever's call (its scope), each result's
score is kept for the retrieval event. Elsewhere the wrappers only pass the
call through.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Coroutine
from typing import Any, Final

from ragtel.instrumentation._base import Patches, Wrapper
from ragtel.instrumentation.langchain.scope import Scope, current
from ragtel.instrumentation.langchain.spans import log_failure
from ragtel.instrumentation.langchain.subclasses import wrap_hierarchy

_SCORED_SEARCHES: Final = (
    "similarity_search_with_score",
    "similarity_search_with_relevance_scores",
)
_ASYNC_SCORED_SEARCHES: Final = (
    "asimilarity_search_with_score",
    "asimilarity_search_with_relevance_scores",
)


def instrument_vector_stores(patches: Patches) -> None:
    from langchain_core.vectorstores import VectorStore

    wrappers: dict[str, Wrapper] = dict.fromkeys(_SCORED_SEARCHES, _keep_scores)
    wrappers.update(dict.fromkeys(_ASYNC_SCORED_SEARCHES, _akeep_scores))
    wrap_hierarchy(VectorStore, wrappers, patches)


def _keep_scores(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    result = wrapped(*args, **kwargs)
    scope = current()
    if scope is not None and scope.claimed:
        _keep(scope, result)
    return result


def _akeep_scores(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Coroutine[Any, Any, Any]:
    coroutine = wrapped(*args, **kwargs)

    async def kept() -> Any:
        result = await coroutine
        scope = current()
        if scope is not None and scope.claimed:
            _keep(scope, result)
        return result

    return kept()


def _keep(scope: Scope, results: Any) -> None:
    """Keep each (document, score) pair; a later search (relevance after raw) overrides."""
    try:
        for document, score in results:
            if isinstance(score, numbers.Real) and not isinstance(score, bool):
                scope.scores[id(document)] = (document, float(score))
    except Exception:  # noqa: BLE001 - recording must never break the app
        log_failure("vector store scores")
