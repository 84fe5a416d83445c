"""Handing a span's context to another process, and taking it back.

Three string forms are understood wherever ragtel takes a ``context``:

* a W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``);
* the serialized form made by :func:`serialize_span_context`: a JSON object
  of W3C Trace Context headers (``{"traceparent": ..., "tracestate": ...}``);
* LastMile's form, made by its ``export_span`` and by :func:`export_span`:
  ``{"trace_id": int, "span_id": int, "trace_flags": int, "trace_state": str,
  "is_remote": bool}``. The export of no span (both ids 0) points nowhere:
  spans started under it begin a new trace, as under LastMile.

A mapping of incoming headers (such as :func:`get_distributed_trace_headers`
produced upstream) is also accepted. It goes through the globally configured
propagators and, like OTel's own ``extract``, is lenient: headers that carry
no valid context start a new trace. Strings are strict, because a string is
a programming-time hand-over: a malformed one raises ValueError, and so does
one longer than :data:`MAX_CONTEXT_STRING_LENGTH` or nested too deeply to
parse, however it was forged.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    TraceState,
)


@functools.cache
def _w3c() -> TextMapPropagator:
    """The W3C trace-context propagator, built on first use (import ragtel stays cheap)."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


_TRACEPARENT: Final = "traceparent"
_TRACESTATE: Final = "tracestate"
MAX_CONTEXT_STRING_LENGTH: Final = 16_384
"""Characters in a context string: twice what the serialized form can need (a
traceparent of at most 512 characters and a tracestate of at most 8,192, W3C's
and OTel's limits). Longer strings are refused before any parsing."""

if TYPE_CHECKING:
    from opentelemetry.propagators.textmap import TextMapPropagator

ContextLike = Context | SpanContext | str | Mapping[str, str]


def to_context(context: ContextLike | None, *, argument: str = "context") -> Context | None:
    """Normalize any accepted ``context`` argument to an OTel ``Context``.

    Raises TypeError for an unsupported type and ValueError for a string that
    is neither form, quoting it.
    """
    if context is None or isinstance(context, Context):
        return context
    if isinstance(context, SpanContext):
        return trace.set_span_in_context(NonRecordingSpan(context))
    if isinstance(context, str):
        # Like the W3C propagator's extract: a context holding that span only.
        return trace.set_span_in_context(
            NonRecordingSpan(_span_context_from_string(context, argument)), Context()
        )
    if isinstance(context, Mapping):
        from opentelemetry.propagate import extract

        return extract(_headers(context, argument))
    raise TypeError(
        f"{argument} must be an opentelemetry Context, a SpanContext, a traceparent string, "
        f"a serialized span context or a mapping of headers; got {type(context).__name__}"
    )


def _headers(mapping: Mapping[Any, Any], argument: str = "context") -> dict[str, Any]:
    """Incoming headers as propagators read them; entries that cannot be headers are left out.

    HTTP header names are case-insensitive; frameworks hand them over as
    "Traceparent" or "TRACEPARENT", while propagators look up lowercase. A name
    that is not text, or a value that is neither text nor a list of texts, can
    carry no context: it is skipped (propagators would raise on it), keeping
    the mapping form as lenient as OTel's ``extract``. str subclasses are read
    as plain text, so their own methods never run. A mapping that cannot be
    read raises TypeError naming ``argument``.
    """
    try:
        return {
            str.lower(key): _header_value(value)
            for key, value in mapping.items()
            if isinstance(key, str)
            and (
                isinstance(value, str)
                or (
                    isinstance(value, (list, tuple))
                    and all(isinstance(item, str) for item in value)
                )
            )
        }
    except Exception as error:  # noqa: BLE001 - a hostile mapping: items() or iteration raised
        raise TypeError(
            f"{argument} must be a readable mapping of headers; reading it raised "
            f"{type(error).__name__}"
        ) from None


def _header_value(value: str | list[str] | tuple[str, ...]) -> str | list[str]:
    if isinstance(value, str):
        return str.__str__(value)
    return [str.__str__(item) for item in value]


def span_context_from(context: ContextLike, *, argument: str = "context") -> SpanContext:
    """The span context a ``context`` argument points at (invalid if it points nowhere)."""
    if isinstance(context, SpanContext):
        return context
    if isinstance(context, str):
        return _span_context_from_string(context, argument)
    resolved = to_context(context, argument=argument)
    return trace.get_current_span(resolved).get_span_context()


def get_traceparent(span: Span | None = None) -> str | None:
    """W3C ``traceparent`` of ``span`` (default: the current span), or None without one."""
    return get_distributed_trace_headers(span, propagate_all=False).get(_TRACEPARENT)


def serialize_span_context(span: Span | None = None) -> str | None:
    """Serialize ``span``'s context (default: the current span) for another process.

    Pass the result as ``context=`` to any ragtel tracer, in any process, to
    continue the trace or attach to it. Returns None when there is no valid span.
    """
    headers = get_distributed_trace_headers(span, propagate_all=False)
    if _TRACEPARENT not in headers:
        return None
    return json.dumps(headers, separators=(",", ":"), sort_keys=True)


def get_distributed_trace_headers(
    span: Span | None = None, *, propagate_all: bool = True
) -> dict[str, str]:
    """HTTP headers that carry ``span``'s context (default: the current span).

    With ``propagate_all`` (the default) the globally configured propagators
    are used (``OTEL_PROPAGATORS``; W3C trace context and baggage unless
    changed); otherwise W3C trace context only.
    """
    target = span_or_current(span)
    if not target.get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    context = trace.set_span_in_context(target)
    if propagate_all:
        from opentelemetry.propagate import inject  # loads the configured propagators

        inject(carrier, context=context)
    else:
        _w3c().inject(carrier, context=context)
    return carrier


def _span_context_from_string(text: str, argument: str) -> SpanContext:
    text = str.__str__(text)  # a str subclass's own methods never run
    if len(text) > MAX_CONTEXT_STRING_LENGTH:
        raise ValueError(
            f"{argument} is {len(text):,} characters long, longer than any span context "
            f"(at most {MAX_CONTEXT_STRING_LENGTH:,}): {_quote(text)}"
        )
    stripped = text.strip()
    parsed = _parse_w3c(stripped)
    if parsed is not None:  # the common forms, parsed directly
        return parsed
    carrier: Mapping[str, str]
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: forged, deeply nested JSON
            parsed = None
        if isinstance(parsed, dict) and parsed.keys() >= _LASTMILE_REQUIRED_KEYS:
            return _span_context_from_lastmile(parsed, text, argument)
        if not isinstance(parsed, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in parsed.items()
        ):
            raise ValueError(f"{argument} is not a serialized span context: {_quote(text)}")
        carrier = parsed
    else:
        carrier = {_TRACEPARENT: stripped}
    span_context = trace.get_current_span(_w3c().extract(carrier)).get_span_context()
    if not span_context.is_valid:
        raise ValueError(
            f"{argument} is neither a W3C traceparent nor a serialized span context: {_quote(text)}"
        )
    return span_context


_LASTMILE_REQUIRED_KEYS: Final = frozenset({"trace_id", "span_id"})
_LASTMILE_KEYS: Final = _LASTMILE_REQUIRED_KEYS | {"trace_flags", "trace_state", "is_remote"}


def _span_context_from_lastmile(fields: dict[Any, Any], text: str, argument: str) -> SpanContext:
    """The span context of LastMile's ``export_span`` JSON; ValueError quoting ``text``.

    Ids are ints as LastMile writes them (decimal or hex strings are taken
    too, as everywhere ragtel takes an id). ``is_remote`` is read and
    ignored: a context handed over is remote wherever it arrives.
    """
    from ragtel._context.ids import parse_span_id, parse_trace_id

    def refuse(why: str) -> ValueError:
        return ValueError(f"{argument} is not a LastMile span export ({why}): {_quote(text)}")

    if set(fields) - _LASTMILE_KEYS:
        raise refuse(f"unknown keys {sorted(map(str, set(fields) - _LASTMILE_KEYS))[:5]}")
    trace_id, span_id = fields["trace_id"], fields["span_id"]
    if type(trace_id) is int and type(span_id) is int and trace_id == span_id == 0:
        return INVALID_SPAN_CONTEXT  # LastMile's export of no span: points nowhere
    flags, state = fields.get("trace_flags", 0), fields.get("trace_state", "")
    if type(flags) is not int or not 0 <= flags <= 0xFF:
        raise refuse("trace_flags must be an int from 0 to 255")
    if not isinstance(state, str):
        raise refuse("trace_state must be a str")
    if not isinstance(fields.get("is_remote", False), bool):
        raise refuse("is_remote must be a bool")
    try:
        trace_number = parse_trace_id(trace_id)
        span_number = parse_span_id(span_id, trace_id=trace_id)
    except ValueError as error:
        raise refuse(str(error)) from None
    return SpanContext(
        trace_number,
        span_number,
        is_remote=True,
        trace_flags=TraceFlags(flags),
        trace_state=TraceState.from_header([state]) if state else None,
    )


def export_span(span: Span | None = None) -> str:
    """LastMile's ``export_span`` JSON of ``span``'s context (default: the current span).

    ``{"trace_id": int, "span_id": int, "trace_flags": int, "trace_state": str,
    "is_remote": bool}``, the ids as decimal ints. Pass it as ``context=`` to
    any ragtel or LastMile tracer to continue the trace. With no span (none
    given and none current) both ids are 0, as LastMile writes them.
    """
    span_context = span_or_current(span).get_span_context()
    return json.dumps(
        {
            "trace_id": span_context.trace_id,
            "span_id": span_context.span_id,
            "trace_flags": int(span_context.trace_flags),
            "trace_state": span_context.trace_state.to_header(),
            "is_remote": span_context.is_remote,
        }
    )


def get_trace_id(span: Span | None = None) -> int:
    """``span``'s trace id (default: the current span) as an int, LastMile's form.

    0 when there is no span, as LastMile returns. Its decimal string (LastMile
    hands ids around as ``str(get_trace_id())``) is taken wherever ragtel
    takes a ``trace_id``.
    """
    return span_or_current(span).get_span_context().trace_id


def get_span_id(span: Span | None = None) -> int:
    """``span``'s span id (default: the current span) as an int, LastMile's form; 0 without one."""
    return span_or_current(span).get_span_context().span_id


# A pattern, not a compiled one (re caches it on first use): import ragtel stays cheap.
_VERSION_00: Final = r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"
# Longer trace states take the propagator's path, which enforces its limits.
_FAST_TRACESTATE_LENGTH: Final = 512


def _parse_w3c(text: str) -> SpanContext | None:
    """A version-00 traceparent, or the serialized form holding one, as a remote
    SpanContext; None for anything else.

    Anything else (other versions, invalid values) takes the W3C propagator's
    path, which also gives the error messages; a test holds both paths to the
    same result.
    """
    trace_state = None
    if text.startswith("{"):
        try:
            headers = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(headers, dict) or set(headers) - {_TRACEPARENT, _TRACESTATE}:
            return None
        traceparent, state = headers.get(_TRACEPARENT), headers.get(_TRACESTATE)
        if not isinstance(traceparent, str) or not isinstance(state, (str, type(None))):
            return None
        if state and len(state) > _FAST_TRACESTATE_LENGTH:
            return None
        text = traceparent
        if state:
            trace_state = TraceState.from_header([state])
    match = re.fullmatch(_VERSION_00, text)
    if match is None:
        return None
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if not trace_id or not span_id:
        return None
    flags = TraceFlags(int(match[3], 16))
    return SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=flags, trace_state=trace_state
    )


def _quote(text: str) -> str:
    from ragtel._encoding.redaction import redact_text  # error path only

    # The repr of a str subclass may raise; a quoted credential would reach logs.
    text = redact_text(str.__getitem__(text, slice(0, 240)))
    return repr(text if len(text) <= 120 else text[:120] + "…")


def span_or_current(span: Any, *, argument: str = "span") -> Span:
    """``span``, or the current span when it is None; TypeError naming ``argument`` otherwise."""
    if span is None:
        return trace.get_current_span()
    if not isinstance(span, Span):
        raise TypeError(
            f"{argument} must be an OpenTelemetry Span or None; got {type(span).__name__}"
        )
    return span


def is_local_span(span: Span) -> bool:
    """A span of this process (recording or not): not missing, not a remote parent."""
    context = span.get_span_context()
    return context.is_valid and not context.is_remote and not isinstance(span, NonRecordingSpan)


def is_sampled_out(span: Span) -> bool:
    """A span this process decided not to record (sampled out, or a no-op provider)."""
    context = span.get_span_context()
    return isinstance(span, NonRecordingSpan) and context.is_valid and not context.is_remote
