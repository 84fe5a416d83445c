"""Carrying a trace's ParamSet and context attributes to downstream services (opt-in).

When enabled, a propagator joins the global ones: on inject it appends to the
W3C ``baggage`` header one entry per param and per context attribute, named
by its attribute key (``ragtel.param.<key>``, ``session.id``, ``user.id``,
``ragtel.tags``, ``ragtel.metadata.<key>``), each value JSON-encoded so its
type survives; on extract it reads them back (a plain-text value, as other
systems send ``session.id``, is taken as a string). A downstream service's local
root then starts with the upstream params (its own defaults win on
conflicts), and its spans carry the upstream session, user, tags and metadata.

Limits: the ragtel entries of one request take at most ``max_bytes`` (default
2,048; W3C allows 8,192 for the whole header); entries that do not fit are
left out and counted in a warning. Params marked sensitive, and params or
metadata under sensitive names, are never propagated.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final, cast

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as context_api
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.util.types import AttributeValue

from ragtel._attributes.context import CONTEXT_ATTRIBUTES_KEY, current_context_attributes, merged
from ragtel._attributes.params import validate_param_key
from ragtel._encoding.encoder import MASK_FAILED
from ragtel._encoding.redaction import REDACTED
from ragtel._sdk.processor import REMOTE_PARAMS_KEY, find_trace_state
from ragtel._state import STATE
from ragtel.semconv.attributes import RAGTEL_METADATA_PREFIX, RAGTEL_PARAM_PREFIX, RAGTEL_TAGS
from ragtel.semconv.references import GEN_AI_CONVERSATION_ID, SESSION_ID, USER_ID

_logger = logging.getLogger("ragtel")

DEFAULT_MAX_BYTES: Final = 2_048
# W3C Baggage limits for a whole header: beyond them receivers drop it all.
_W3C_MAX_BYTES: Final = 8_192
_W3C_MAX_ENTRIES: Final = 180
_W3C_MAX_ENTRY_BYTES: Final = 4_096
_HEADER: Final = "baggage"
_LABELS: Final = frozenset({SESSION_ID, USER_ID, RAGTEL_TAGS})
_WARN_INTERVAL_SECONDS: Final = 60.0


class ParamsPropagator(TextMapPropagator):
    """Propagates ragtel's ParamSet and context attributes in W3C Baggage."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.left_out = 0
        self._last_warning = -_WARN_INTERVAL_SECONDS

    @property
    def fields(self) -> set[str]:
        return {_HEADER}

    def inject(
        self,
        carrier: CarrierT,
        context: context_api.Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        entries = list(self._entries(context))
        if not entries:
            return
        existing = carrier.get(_HEADER) if isinstance(carrier, Mapping) else None
        if existing is not None and not isinstance(existing, str):
            return  # an unknown carrier format: appending could break its baggage
        # Within ragtel's own limit, and within W3C's for the whole header, so the
        # application's own baggage is never pushed over and dropped downstream.
        used = len(existing) + 1 if existing else 0
        budget = min(self.max_bytes, _W3C_MAX_BYTES - used)
        room = _W3C_MAX_ENTRIES - (existing.count(",") + 1 if existing else 0)
        kept: list[str] = []
        size = 0
        for entry in entries:
            if size + len(entry) + 1 > budget or len(kept) >= room:
                continue
            kept.append(entry)
            size += len(entry) + 1
        if len(kept) < len(entries):
            self._report(len(entries) - len(kept))
        if kept:
            setter.set(carrier, _HEADER, ",".join([existing, *kept] if existing else kept))

    def extract(
        self,
        carrier: CarrierT,
        context: context_api.Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> context_api.Context:
        context = context if context is not None else context_api.get_current()
        try:
            return self._extract(carrier, context, getter)
        except Exception:
            _logger.debug("ragtel: ignored an unreadable baggage header", exc_info=True)
            return context

    def _extract(
        self, carrier: CarrierT, context: context_api.Context, getter: Getter[CarrierT]
    ) -> context_api.Context:
        params: dict[str, Any] = {}
        labels: dict[str, AttributeValue] = {}
        names: list[str] = []
        # At most as many pieces as are read: a huge header costs one pass, not a list
        # of millions of entries.
        entries = [
            entry
            for header in getter.get(carrier, _HEADER) or ()
            for entry in header.split(",", _W3C_MAX_ENTRIES)
        ]
        for entry in entries[:_W3C_MAX_ENTRIES]:
            if len(entry) > _W3C_MAX_ENTRY_BYTES:
                continue
            name, _, raw = entry.strip().partition("=")
            name = urllib.parse.unquote(name.strip())
            if name.startswith(RAGTEL_PARAM_PREFIX):
                key = name[len(RAGTEL_PARAM_PREFIX) :]
                try:
                    validate_param_key(key)
                except (TypeError, ValueError):
                    continue
                params[key] = _decoded(raw)
            elif name in _LABELS or name.startswith(RAGTEL_METADATA_PREFIX):
                value = _label_value(name, _decoded(raw))
                if value is None:
                    continue
                labels[name] = value
            else:
                continue
            names.append(name)
        if SESSION_ID in labels:
            labels[GEN_AI_CONVERSATION_ID] = labels[SESSION_ID]
        # The W3C baggage propagator keeps these entries too; drop them there, or
        # they would travel again next to ragtel's own at the next hop.
        for name in names:
            context = baggage.remove_baggage(name, context)
        if params:
            context = context_api.set_value(REMOTE_PARAMS_KEY, params, context)
        if labels:
            combined = merged(current_context_attributes(context), labels)
            context = context_api.set_value(CONTEXT_ATTRIBUTES_KEY, combined, context)
        return context

    def _entries(self, context: context_api.Context | None) -> Any:
        span = trace.get_current_span(context)
        span_context = span.get_span_context()
        if span_context.is_valid and not span_context.is_remote:
            found = find_trace_state(span_context.span_id)
            if found is not None:
                processor, state = found
                # The recorded form: redacted and masked exactly as on the span.
                for key, value in processor.shareable_params_of(state).items():
                    if value not in (REDACTED, MASK_FAILED):
                        yield _entry(RAGTEL_PARAM_PREFIX + key, value)
        for key, value in current_context_attributes(context).items():
            if (key in _LABELS or key.startswith(RAGTEL_METADATA_PREFIX)) and value not in (
                REDACTED,
                MASK_FAILED,
            ):
                yield _entry(key, value)

    def _report(self, count: int) -> None:
        self.left_out += count
        now = time.monotonic()
        if now - self._last_warning < _WARN_INTERVAL_SECONDS:
            return
        self._last_warning = now
        _logger.warning(
            "ragtel: propagated params are limited to %d bytes per request; "
            "%d entries left out so far (RAGTEL_PROPAGATION_MAX_BYTES)",
            self.max_bytes,
            self.left_out,
        )


def _entry(name: str, value: Any) -> str:
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = json.dumps(str(value))
    return f"{urllib.parse.quote(name, safe='.')}={urllib.parse.quote(text, safe='')}"


def _decoded(raw: str) -> Any:
    text = urllib.parse.unquote(raw.split(";", 1)[0].strip())  # drop W3C entry properties
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a forged, deeply nested value
        return text


def _label_value(name: str, value: Any) -> AttributeValue | None:
    """A label as the attribute it will be, or None when it has the wrong type."""
    if name == RAGTEL_TAGS:
        ok = isinstance(value, list) and all(isinstance(tag, str) for tag in value)
        return list(value) if ok else None
    if name in (SESSION_ID, USER_ID):
        return value if isinstance(value, str) and value else None
    if isinstance(value, (str, bool, int, float)):
        return value
    return None


def enable(max_bytes: int = DEFAULT_MAX_BYTES) -> ParamsPropagator:
    """Add ragtel's propagator to the global propagators (once).

    The propagator it joins is kept in ``ragtel._state.STATE``, which puts it
    back on reset.
    """
    with STATE.propagation_lock:
        # Only this function sets STATE.propagator, and only to a ParamsPropagator.
        installed = cast("ParamsPropagator | None", STATE.propagator)
        if installed is None:
            from opentelemetry.propagators.composite import CompositePropagator

            installed = ParamsPropagator(max_bytes)
            previous = propagate.get_global_textmap()
            propagate.set_global_textmap(CompositePropagator([previous, installed]))
            STATE.propagator, STATE.replaced_propagator = installed, previous
        return installed


def enabled() -> bool:
    """True once :func:`enable` has added ragtel's propagator."""
    return STATE.propagator is not None
