"""The live check: telemetry the test suite produces, validated against the registry.

A :class:`LiveCheck` span processor sees every span of every SDK provider the
tests create (``conftest`` adds it) and records a violation for:

* a ``ragtel.*`` attribute the registry does not declare, or whose value has
  another type than declared (or is not one of an enum's values);
* a ``gen_ai.*`` attribute the registry does not reference;
* a ``ragtel.*`` span or event name the registry does not declare, and on a
  declared event, an attribute that event group does not list.

The session fails if any violation was recorded.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "semconv" / "tools"))
import registry as semconv

_OPENINFERENCE_PREFIXES = (
    "openinference.",
    "input.",
    "output.",
    "retrieval.",
    "reranker.",
    "llm.",
    "embedding.",
    "tool.",
)

_SCALAR_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, float),
    "boolean": lambda v: isinstance(v, bool),
}


def _matches(value_type: str, value: Any) -> bool:
    if value_type == "any":
        return isinstance(value, (str, bool, int, float, tuple, list))
    if value_type.endswith("[]"):
        check = _SCALAR_CHECKS[value_type[:-2]]
        # OTel arrays may hold nulls, and the spec says to keep them (a chunk without content).
        return isinstance(value, (tuple, list)) and all(
            item is None or check(item) for item in value
        )
    return _SCALAR_CHECKS[value_type](value)


class Checker:
    """Checks attribute sets against the registry; keeps every violation it finds."""

    def __init__(self, registry: semconv.Registry | None = None) -> None:
        self.registry = registry or semconv.load()
        self._external = self.registry.external_references
        self._typed_external = self.registry.external
        self._openinference = self.registry.openinference
        self._lock = threading.Lock()
        self.violations: list[str] = []

    def check_span(self, span: ReadableSpan) -> None:
        where = f"span {span.name!r}"
        if span.name.startswith(semconv.NAMESPACE) and span.name not in self.registry.span_names:
            self._violation(f"{where}: span name is not declared")
        self.check_attributes(where, span.attributes or {})
        for event in span.events:
            self.check_event(f"{where} event {event.name!r}", event.name, event.attributes or {})

    def check_event(self, where: str, name: str, attributes: Mapping[str, Any]) -> None:
        allowed: Iterable[str] | None = None
        group = self.registry.event(name)
        if group is not None:
            allowed = group.attributes
        elif name.startswith(semconv.NAMESPACE):
            self._violation(f"{where}: event name is not declared")
        self.check_attributes(where, attributes, allowed=allowed)

    def check_attributes(
        self, where: str, attributes: Mapping[str, Any], *, allowed: Iterable[str] | None = None
    ) -> None:
        allowed_set = set(allowed) if allowed is not None else None
        for key, value in attributes.items():
            if key in self._typed_external or key.startswith("gen_ai."):
                value_type = self._typed_external.get(key)
                if key not in self._external or value_type is None:
                    self._violation(f"{where}: {key} is not referenced by the registry")
                elif allowed_set is not None and key not in allowed_set:
                    self._violation(f"{where}: {key} is not listed for this event")
                elif not _matches(value_type, value):
                    self._violation(f"{where}: {key}={value!r} is not of type {value_type}")
                continue
            if key.startswith(_OPENINFERENCE_PREFIXES):
                pattern = re.sub(r"\.\d+\.", ".{i}.", key)
                oi_type = self._openinference.get(pattern)
                if oi_type is None:
                    self._violation(f"{where}: {key} is not an OpenInference key ragtel declares")
                elif not _matches(oi_type, value):
                    self._violation(f"{where}: {key}={value!r} is not of type {oi_type}")
                continue
            if not key.startswith(semconv.NAMESPACE):
                continue
            attribute = self.registry.attribute_for_key(key)
            if attribute is None:
                self._violation(f"{where}: {key} is not declared")
                continue
            if allowed_set is not None and attribute.id not in allowed_set:
                self._violation(f"{where}: {key} is not listed for this event")
            if not _matches(attribute.value_type, value):
                self._violation(f"{where}: {key}={value!r} is not of type {attribute.type}")
            elif attribute.members and value not in {m.value for m in attribute.members}:
                self._violation(f"{where}: {key}={value!r} is not a value of the enum")

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)


class LiveCheck(SpanProcessor):
    """A span processor that runs the :class:`Checker` on every ended span."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        self.checker.check_span(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


SESSION_CHECK = Checker()
"""The test session's checker: violations recorded here fail the session."""


def check_otlp_json_span(span: Mapping[str, Any]) -> None:
    """Live-check a span read back as OTLP JSON (from a file or a receiver)."""
    where = f"exported span {span.get('name')!r}"
    SESSION_CHECK.check_attributes(where, _otlp_attributes(span.get("attributes", [])))
    for event in span.get("events", []):
        SESSION_CHECK.check_event(
            f"{where} event {event.get('name')!r}",
            str(event.get("name", "")),
            _otlp_attributes(event.get("attributes", [])),
        )


def _otlp_attributes(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _otlp_value(item.get("value", {})) for item in items}


def _otlp_value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return tuple(_otlp_value(item) for item in value["arrayValue"].get("values", []))
    return None


def check_otlp_json_log_record(record: Mapping[str, Any]) -> None:
    """Live-check a log record read back as OTLP JSON (from a file or a receiver)."""
    name = str(record.get("eventName", ""))
    SESSION_CHECK.check_event(
        f"exported log record {name!r}", name, _otlp_attributes(record.get("attributes", []))
    )
