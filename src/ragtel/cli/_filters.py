"""Choosing traces: by id, ParamSet value, start time, span name and errors.

``view`` and ``report`` share these filters. Every argument is checked when
the filter is built, so a typo in ``--since`` or ``--param`` stops the
command before the file is read.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ragtel.cli._errors import CliError
from ragtel.cli._traces import Trace, span_name_matches

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_HEX = re.compile(r"[0-9a-f]+")


@dataclass
class TraceFilter:
    trace_ids: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    since_ns: int | None = None
    until_ns: int | None = None
    name_pattern: str | None = None
    errors_only: bool = False

    def matches(self, trace: Trace) -> bool:
        if self.since_ns is not None and trace.start < self.since_ns:
            return False
        if self.until_ns is not None and trace.start >= self.until_ns:
            return False
        if self.trace_ids and not trace.trace_id.startswith(self.trace_ids):
            return False
        if self.errors_only and not trace.has_error:
            return False
        if self.name_pattern is not None and not span_name_matches(trace, self.name_pattern):
            return False
        return all(_param_matches(trace.params, key, wanted) for key, wanted in self.params)


def build_filter(
    *,
    trace_ids: Sequence[str] | None,
    params: Sequence[str],
    since: str | None,
    until: str | None,
    name_pattern: str | None = None,
    errors_only: bool = False,
    now: dt.datetime | None = None,
) -> TraceFilter:
    """Check the filter arguments and build the filter; CliError names a bad one."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return TraceFilter(
        trace_ids=tuple(_trace_id_prefix(value) for value in trace_ids or ()),
        params=tuple(split_key_value(value, option="--param") for value in params),
        since_ns=parse_time(since, option="--since", now=now) if since else None,
        until_ns=parse_time(until, option="--until", now=now) if until else None,
        name_pattern=name_pattern,
        errors_only=errors_only,
    )


def split_key_value(text: str, *, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise CliError(f"{option} expects KEY=VALUE, got {text!r}")
    return key.strip(), value


def _trace_id_prefix(text: str) -> str:
    """A hex trace id or its prefix; a whole decimal id (LastMile's form) is turned into hex.

    Up to 32 digits 0-9 read as a hex prefix, as they always did; more is
    a decimal id, since a hex one has 32 digits at most.
    """
    value = text.strip().lower()
    if len(value) > 32 and value.isascii() and value.isdigit():
        from ragtel._context.ids import parse_trace_id  # the tracer's own rule for ids

        try:
            return f"{parse_trace_id(value, argument='--trace-id'):032x}"
        except ValueError as error:
            raise CliError(str(error)) from None
    if not value or len(value) > 32 or not _HEX.fullmatch(value):
        raise CliError(f"--trace-id expects up to 32 hex digits, got {text!r}")
    return value


def parse_time(text: str, *, option: str, now: dt.datetime) -> int:
    """ISO 8601 (a time without zone is local time) or an age before ``now``: ns since the epoch."""
    age = _AGE.fullmatch(text.strip().lower())
    if age:
        seconds = float(age.group(1)) * _AGE_UNITS[age.group(2)]
        return _ns(now - dt.timedelta(seconds=seconds))
    iso = text.strip()
    if iso[-1:] in ("Z", "z"):  # Python 3.10 does not read the Z suffix
        iso = iso[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise CliError(
            f"{option} expects an ISO 8601 time such as 2026-11-21T09:30:00Z "
            f"or an age such as 30m, 2h, 7d; got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the user's local time zone
    return _ns(moment)


def _ns(moment: dt.datetime) -> int:
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def resolve_param_key(key: str, known: Iterable[str], *, option: str) -> str:
    """``key`` itself when traces have it, else the one known key ending in ``.key``."""
    known = set(known)
    if key in known:
        return key
    matches = sorted(candidate for candidate in known if candidate.endswith("." + key))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CliError(f"{option} {key!r} is ambiguous: it could be {', '.join(matches)}")
    listed = ", ".join(sorted(known)[:20]) or "none"
    raise CliError(f"{option} {key!r}: no trace has this param (params in the file: {listed})")


def resolve_filter_params(trace_filter: TraceFilter, traces: Sequence[Trace]) -> None:
    """Resolve each ``--param`` key as :func:`resolve_param_key` does."""
    if not trace_filter.params:
        return
    known = {key for trace in traces for key in trace.params}
    trace_filter.params = tuple(
        (resolve_param_key(key, known, option="--param"), value)
        for key, value in trace_filter.params
    )


def format_param(value: Any) -> str:
    """A param value as text: JSON-like for bools and None, ``repr``-free for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return repr(value)  # 512.0 stays distinct from the int 512
    if isinstance(value, list):
        return "[" + ", ".join(format_param(item) for item in value) + "]"
    return str(value)


def _param_matches(params: dict[str, Any], key: str, wanted: str) -> bool:
    if key not in params:
        return False
    value = params[key]
    if format_param(value) == wanted:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(wanted) == float(value)  # --param top_k=5.0 matches 5
        except ValueError:
            return False
    return False
