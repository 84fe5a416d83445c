"""The LangChain runs in progress, each with its span: a bounded, thread-safe map.

LangChain calls a run's start and end callbacks from whichever thread or
asyncio task runs it, and names each run's parent by id. The map turns those
ids into spans. It holds at most :data:`MAX_OPEN_RUNS` runs: a run whose end
never arrives (a stream abandoned half-way, say) would otherwise stay forever.
When full, the oldest run is dropped and its span ended, with a warning.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from opentelemetry.context import Context
from opentelemetry.trace import Span

_logger = logging.getLogger("ragtel")

MAX_OPEN_RUNS: Final = 10_000
"""Runs tracked at once; far above what one process runs concurrently."""


@dataclass(slots=True)
class Run:
    """A LangChain run in progress and what its end needs to record it."""

    span: Span | None
    """ragtel's span of the run; None when a peer instrumentation makes the run's span."""
    kind: str
    """``chain``, ``llm``, ``retriever`` or ``tool``."""
    is_root: bool
    """No parent run: the outermost run of a LangChain call."""
    request: Any = None
    """What the start callback saw that the end records (the kind's request)."""
    restore: Context | None = None
    """The context current before this run's span was made current, if it was."""
    peer: Any = None
    """The peer handler whose span of the run ragtel records on (see ``peers``)."""


class OpenRuns:
    """run id → :class:`Run`, bounded; safe to use from any thread."""

    def __init__(self, limit: int = MAX_OPEN_RUNS) -> None:
        self._limit = limit
        self._runs: dict[UUID, Run] = {}
        self._lock = threading.Lock()
        self._evicted = 0

    def add(self, run_id: UUID, run: Run) -> None:
        with self._lock:
            self._runs[run_id] = run
            oldest = None
            if len(self._runs) > self._limit:
                oldest = self._runs.pop(next(iter(self._runs)))
                self._evicted += 1
                evicted = self._evicted
        if oldest is not None and oldest.span is not None:
            # Ended here so that it is exported; its end callback, if it ever
            # comes, finds nothing and records nothing: the span ends once.
            oldest.span.end()
        if oldest is not None:
            _logger.warning(
                "ragtel: more than %d LangChain runs open at once; the oldest was ended "
                "early (%d so far)",
                self._limit,
                evicted,
            )

    def get(self, run_id: UUID | None) -> Run | None:
        if run_id is None:
            return None
        return self._runs.get(run_id)  # one dict read: atomic under the GIL

    def pop(self, run_id: UUID) -> Run | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def __len__(self) -> int:
        return len(self._runs)
