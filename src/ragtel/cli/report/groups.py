"""``ragtel report``'s numbers: traces grouped by ParamSet values, then compared.

Pure functions from traces to a :class:`Report`; rendering is elsewhere.

Definitions, also in the docs:

* a trace counts when it has a root span (traces holding only feedback, such
  as project feedback, do not), and when it has every ``--by`` param; those
  without one are left out and counted;
* latency is the root span's duration; p50 and p95 interpolate linearly
  between the two nearest ranks (as numpy's default does);
* a trace is an error when any of its spans has status ERROR;
* feedback counts wherever it sits in the trace (inline or late): the thumbs-up
  rate is positive binary feedback over all binary feedback, the score is the
  mean of numeric feedback, categories count categorical labels, and text
  counts text feedback.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtel.cli._filters import format_param
from ragtel.cli._traces import Trace
from ragtel.semconv.attribute_values import RagtelFeedbackKindValues as FeedbackKind


@dataclass
class GroupStats:
    """The comparison figures of the traces sharing one combination of ``--by`` values."""

    values: tuple[Any, ...]
    latencies: list[int] = field(default_factory=list, repr=False)
    traces: int = 0
    errors: int = 0
    binary_positive: int = 0
    binary_count: int = 0
    numeric_total: float = 0.0
    numeric_count: int = 0
    numeric_by_name: dict[str, list[float]] = field(default_factory=dict)
    categories: Counter[str] = field(default_factory=Counter)
    text_count: int = 0
    json_count: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.traces if self.traces else 0.0

    @property
    def thumbs_up_rate(self) -> float | None:
        return self.binary_positive / self.binary_count if self.binary_count else None

    @property
    def score_mean(self) -> float | None:
        return self.numeric_total / self.numeric_count if self.numeric_count else None

    def latency(self, quantile: float) -> int | None:
        return percentile(self.latencies, quantile)


@dataclass
class Report:
    by: list[str]
    groups: list[GroupStats]
    fixed: dict[str, Any]
    varying: dict[str, int]
    """Params not grouped by that still differ between traces: key → distinct values."""
    left_out: dict[str, int]
    """Traces without a ``--by`` param: key → how many lacked it."""
    left_out_traces: int
    """Traces left out for lacking at least one ``--by`` param."""
    traces: int


def percentile(values: Sequence[int], quantile: float) -> int | None:
    """Linear interpolation between the closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * quantile
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return round(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def build_report(traces: Sequence[Trace], by: Sequence[str]) -> Report:
    """Group ``traces`` (already filtered) by the values of the ``by`` params."""
    left_out: Counter[str] = Counter()
    left_out_traces = 0
    groups: dict[tuple[str, ...], GroupStats] = {}
    reported: list[Trace] = []
    for trace in traces:
        if trace.root is None:
            continue
        missing = [key for key in by if key not in trace.params]
        if missing:
            left_out.update(missing)
            left_out_traces += 1
            continue
        reported.append(trace)
        values = tuple(trace.params[key] for key in by)
        group_key = tuple(format_param(value) for value in values)
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = GroupStats(values)
        _add(group, trace)
    fixed, varying = _fixed_and_varying(reported, by)
    ordered = sorted(groups.values(), key=lambda group: tuple(map(_sort_key, group.values)))
    return Report(list(by), ordered, fixed, varying, dict(left_out), left_out_traces, len(reported))


def _add(group: GroupStats, trace: Trace) -> None:
    group.traces += 1
    if trace.latency is not None:
        group.latencies.append(trace.latency)
    if trace.has_error:
        group.errors += 1
    for item in trace.feedback:
        if item.kind == FeedbackKind.BINARY.value and isinstance(item.value, bool):
            group.binary_count += 1
            group.binary_positive += item.value
        elif item.kind == FeedbackKind.NUMERIC.value and _is_finite_number(item.value):
            group.numeric_total += item.value
            group.numeric_count += 1
            group.numeric_by_name.setdefault(item.name, []).append(float(item.value))
        elif item.kind == FeedbackKind.CATEGORICAL.value and item.value is not None:
            group.categories[str(item.value)] += 1
        elif item.kind == FeedbackKind.TEXT.value:
            group.text_count += 1
        elif item.kind == FeedbackKind.JSON.value:
            group.json_count += 1


def _is_finite_number(value: Any) -> bool:
    # A NaN or infinite score (a file may hold one) would make the whole mean NaN.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fixed_and_varying(
    traces: Sequence[Trace], by: Sequence[str]
) -> tuple[dict[str, Any], dict[str, int]]:
    seen: dict[str, dict[str, Any]] = {}
    present: Counter[str] = Counter()
    for trace in traces:
        for key, value in trace.params.items():
            seen.setdefault(key, {})[format_param(value)] = value
            present[key] += 1
    fixed: dict[str, Any] = {}
    varying: dict[str, int] = {}
    for key in sorted(seen):
        if key in by:
            continue
        values = seen[key]
        if len(values) == 1 and present[key] == len(traces):
            fixed[key] = next(iter(values.values()))
        else:
            # A param only some traces have varies too: "unset" is one more value.
            varying[key] = len(values) + (present[key] < len(traces))
    return fixed, varying


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, format_param(value))
