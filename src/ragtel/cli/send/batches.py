"""Re-batching for ``ragtel send``: file lines in, request bodies of at most N spans out.

A file's lines hold whatever its writer batched: one span, or thousands.
:class:`Batcher` merges consecutive lines and splits big ones so that every
request carries at most ``limit`` items, each still under its own resource and
scope (a split copies the resource and scope). Consecutive items from equal
resources and scopes share one entry, so merging a thousand one-span lines
does not repeat the resource a thousand times.

Pure: dicts in, dicts (and request bodies) out, no I/O. The same code
batches OTLP/JSON lines (lowerCamelCase keys), sent as they are over
http/json, and the message fields converted from them (snake_case) for the
protobuf protocols, through a :class:`Layout`. protobuf is imported on first
use only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtel.cli._json_text import json_text
from ragtel.cli._jsonl import Layout


@dataclass
class Batch:
    """One request's worth of items of one signal."""

    layout: Layout
    resources: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    """Items (spans or log records) in the batch."""

    def payload(self) -> dict[str, Any]:
        """The request body as a dict: ``{"resourceSpans": [...]}`` or the like."""
        return {self.layout.resources: self.resources}


class Batcher:
    """Fills batches of at most ``limit`` items of one signal from lines in file order."""

    def __init__(self, layout: Layout, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a batch holds at least one item, not {limit}")
        self.layout = layout
        self.limit = limit
        self._batch = Batch(layout)

    def add(self, line: dict[str, Any]) -> list[Batch]:
        """Add the items of ``line``; return the batches it filled.

        Raises ``ValueError``, before adding anything, when ``line`` does not
        have the shape of an OTLP line.
        """
        check_shape(line, self.layout)
        full: list[Batch] = []
        for resource in line.get(self.layout.resources) or ():
            for scope in resource.get(self.layout.scopes) or ():
                items: Sequence[Any] = scope.get(self.layout.items) or ()
                start = 0
                while start < len(items):
                    room = self.limit - self._batch.size
                    self._append(resource, scope, items[start : start + room])
                    start += room
                    if self._batch.size >= self.limit:
                        full.append(self._batch)
                        self._batch = Batch(self.layout)
        return full

    def finish(self) -> Batch | None:
        """The last, partly filled batch, if it holds anything."""
        batch, self._batch = self._batch, Batch(self.layout)
        return batch if batch.size else None

    def _append(
        self, resource: dict[str, Any], scope: dict[str, Any], items: Sequence[Any]
    ) -> None:
        layout = self.layout
        resource_header = _without(resource, layout.scopes)
        scope_header = _without(scope, layout.items)
        entries = self._batch.resources
        if not entries or _without(entries[-1], layout.scopes) != resource_header:
            entries.append({**resource_header, layout.scopes: []})
        scopes: list[dict[str, Any]] = entries[-1][layout.scopes]
        if not scopes or _without(scopes[-1], layout.items) != scope_header:
            scopes.append({**scope_header, layout.items: []})
        scopes[-1][layout.items].extend(items)
        self._batch.size += len(items)


def halves(batch: Batch) -> list[Batch]:
    """``batch`` in two batches of (about) half its items each, in order."""
    batcher = Batcher(batch.layout, (batch.size + 1) // 2)
    parts = batcher.add(batch.payload())
    last = batcher.finish()
    return [*parts, last] if last is not None else parts


def rebatch(lines: Iterable[dict[str, Any]], batchers: Sequence[Batcher]) -> Iterator[Batch]:
    """Each batch full as soon as it is, then the remainders, for lines holding several signals."""
    for line in lines:
        for batcher in batchers:
            yield from batcher.add(line)
    for batcher in batchers:
        last = batcher.finish()
        if last is not None:
            yield last


def check_shape(line: dict[str, Any], layout: Layout) -> None:
    """Raise ``ValueError`` unless resources, scopes and items are lists of objects."""
    for resource in _objects(line, layout.resources):
        for scope in _objects(resource, layout.scopes):
            _check_list(scope.get(layout.items), layout.items)


def _objects(holder: dict[str, Any], key: str) -> list[dict[str, Any]]:
    values = holder.get(key)
    _check_list(values, key)
    if values and not all(type(value) is dict for value in values):
        raise ValueError(f"{key}: expected a list of objects")
    return values or []


def _check_list(values: Any, key: str) -> None:
    if values is not None and type(values) is not list:
        raise ValueError(f"{key}: expected a list, got {type(values).__name__}")


def _without(entry: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in entry.items() if name != key}


# -- request bodies -------------------------------------------------------------


def json_body(batch: Batch) -> bytes:
    """The OTLP/JSON request body: the file's own JSON, re-batched.

    A bare ``NaN`` or ``Infinity`` in the file (Python reads them, JSON has
    none) goes out as OTLP/JSON's string, or the collector would refuse the
    whole request.
    """
    return json_text(batch.payload(), separators=(",", ":"), ensure_ascii=True).encode("ascii")


@dataclass(frozen=True)
class Encoded:
    """A batch's protobuf ``Export*ServiceRequest``, and the items it had to leave out."""

    request: Any
    left_out: int = 0
    """Items protobuf could not hold, even repaired."""
    reason: str = ""
    """Why the first of them could not be encoded."""


# What building a message from fields raises for a value it cannot hold.
_BUILD_ERRORS = (TypeError, ValueError, OverflowError, RecursionError)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def export_request(batch: Batch) -> Encoded:
    """The protobuf request of a batch of message fields (snake_case).

    :func:`line_fields` refuses most lines protobuf cannot hold, by number. When
    the batch fails anyway, each item is built alone, so one bad item never
    costs the others: text with lone surrogates (which UTF-8 cannot encode) is
    repaired with U+FFFD, and an item that still fails is left out and counted.
    """
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request_type = (
        ExportTraceServiceRequest if batch.layout.signal == "traces" else ExportLogsServiceRequest
    )
    try:
        return Encoded(request_type(**batch.payload()))
    except _BUILD_ERRORS:
        return _item_by_item(batch, request_type)


def _item_by_item(batch: Batch, request_type: Any) -> Encoded:
    layout = batch.layout
    kept = Batcher(layout, batch.size + 1)  # never full: one batch holds every kept item
    left_out = 0
    reason = ""
    for resource in batch.resources:
        for scope in resource[layout.scopes]:
            for item in scope[layout.items]:
                alone = _alone(layout, resource, scope, item)
                try:
                    request_type(**alone)
                except _BUILD_ERRORS:
                    try:
                        alone = _repaired(alone)
                        request_type(**alone)
                    except _BUILD_ERRORS as error:
                        left_out += 1
                        reason = reason or f"cannot encode a {layout.noun} as protobuf: {error}"
                        continue
                kept.add(alone)
    rest = kept.finish()
    payload = rest.payload() if rest is not None else {layout.resources: []}
    return Encoded(request_type(**payload), left_out, reason)


def _alone(
    layout: Layout, resource: dict[str, Any], scope: dict[str, Any], item: Any
) -> dict[str, Any]:
    """A payload of ``item`` alone, under its resource and scope."""
    scope_entry = {**_without(scope, layout.items), layout.items: [item]}
    return {layout.resources: [{**_without(resource, layout.scopes), layout.scopes: [scope_entry]}]}


def _repaired(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_repaired(item) for item in value]
    return value


def line_fields(line: dict[str, Any]) -> dict[str, Any]:
    """An OTLP/JSON line as message fields: ``resource_spans`` and/or ``resource_logs``.

    Raises ``ValueError`` when the line does not have OTLP's shape.
    """
    from opentelemetry.proto.logs.v1.logs_pb2 import LogsData
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    from ragtel._sdk.otlp_json import message_fields

    # Each conversion ignores the other signal's key, as unknown fields are ignored.
    fields = message_fields(line, TracesData.DESCRIPTOR)
    fields.update(message_fields(line, LogsData.DESCRIPTOR))
    return fields
