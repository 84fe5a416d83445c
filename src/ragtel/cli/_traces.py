"""Traces as ``view`` and ``report`` see them: spans, events and feedback, kept small.

Only what the commands show is kept: names, times, status, the RAG step
kind, ParamSet entries, feedback and the few event attributes the summaries
need. Content (chunk texts, inputs, outputs, stack traces) stays in the file,
so memory grows with the number of spans, not with their size. Reading a
file into these is :mod:`ragtel.cli._loading`; decoding its lines is
:mod:`ragtel.cli._otlp_decoding`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from ragtel.semconv import attributes as attrs
from ragtel.semconv import references

_STATUS_ERROR = 2


@dataclass(slots=True)
class Event:
    """A span event, with only the attributes the one-line summaries read."""

    name: str
    time: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Span:
    """A span, with only the attributes the commands show; ids are lower-case hex."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start: int
    end: int
    status_code: int
    status_message: str
    service: str
    attributes: dict[str, Any]
    params: dict[str, Any]
    events: list[Event]

    @property
    def duration(self) -> int:
        return max(self.end - self.start, 0)

    @property
    def is_error(self) -> bool:
        return self.status_code == _STATUS_ERROR

    @property
    def is_feedback(self) -> bool:
        return attrs.RAGTEL_FEEDBACK_KIND in self.attributes

    @property
    def kind(self) -> str | None:
        """The RAG step: ``ragtel.span.kind``, else the GenAI operation name."""
        value = self.attributes.get(attrs.RAGTEL_SPAN_KIND) or self.attributes.get(
            references.GEN_AI_OPERATION_NAME
        )
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class Feedback:
    """One piece of feedback, from a carrier span or an evaluation event."""

    kind: str
    name: str
    value: Any  # bool (binary), float (numeric), str (category or text), or None
    annotator: str | None
    target_span_id: str | None
    time: int


@dataclass
class Trace:
    """A trace's spans in start order, its root, its ParamSet and the feedback it received."""

    trace_id: str
    spans: list[Span]
    root: Span | None
    params: dict[str, Any]
    feedback: list[Feedback]

    @property
    def start(self) -> int:
        return self.root.start if self.root is not None else min(s.start for s in self.spans)

    @property
    def latency(self) -> int | None:
        return self.root.duration if self.root is not None else None

    @property
    def has_error(self) -> bool:
        return any(span.is_error for span in self.spans)

    @property
    def flow(self) -> str | None:
        value = self.root.attributes.get(attrs.RAGTEL_RAG_FLOW_TYPE) if self.root else None
        return value if isinstance(value, str) else None


def span_name_matches(trace: Trace, pattern: str) -> bool:
    """Whether any span of ``trace`` has a name matching the glob ``pattern``."""
    return any(fnmatch.fnmatchcase(span.name, pattern) for span in trace.spans)
