"""Running a LastMile example in a fresh Python process and reading back what it recorded.

The process starts with no ``OTEL_*``, ``RAGTEL_*`` or ``LASTMILE_*``
variables but ``RAGTEL_TRACES_FILE``, so every tracer it builds writes OTLP
JSON Lines to one file of the test's directory and nothing goes over the
network. The file is read twice: by the ``ragtel`` command's own loader (each
trace's root, ParamSet and feedback, as a user of ``ragtel view`` sees them)
and span by span with every attribute and event, for the checks the loader
does not keep.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtel.cli._loading import load
from ragtel.cli._otlp_decoding import any_value
from ragtel.cli._traces import Trace

TRACES_FILE = "traces.jsonl"


@dataclass
class RawSpan:
    """One exported span with all its attributes and events, values decoded from OTLP JSON."""

    scope: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start: int
    end: int
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    linked_trace_ids: list[str]

    def event(self, name: str) -> dict[str, Any]:
        """The attributes of this span's one event called ``name``."""
        found = [attributes for event_name, attributes in self.events if event_name == name]
        assert len(found) == 1, f"{len(found)} {name!r} events on {self.name!r}: {self.events}"
        return found[0]


@dataclass
class Recorded:
    """What one example's process printed and exported."""

    stdout: str
    stderr: str
    traces: list[Trace]
    spans: list[RawSpan]

    def span(self, name: str) -> RawSpan:
        """The one span called ``name``."""
        found = [span for span in self.spans if span.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {[s.name for s in self.spans]}"
        return found[0]

    def trace_of(self, span: RawSpan) -> Trace:
        """The trace ``span`` belongs to, as the ``ragtel`` command assembles it."""
        return next(trace for trace in self.traces if trace.trace_id == span.trace_id)


def run_example(directory: Path, source: str) -> Recorded:
    """Run ``source`` as a script in ``directory`` and read back the traces it wrote."""
    script = directory / "example.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "RAGTEL_", "LASTMILE_"))
    }
    traces_file = directory / TRACES_FILE
    env["RAGTEL_TRACES_FILE"] = str(traces_file)
    completed = subprocess.run(
        [sys.executable, str(script)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert traces_file.exists(), f"nothing exported; stderr:\n{completed.stderr}"
    return Recorded(
        completed.stdout, completed.stderr, load(str(traces_file)).traces, _raw_spans(traces_file)
    )


def _raw_spans(path: Path) -> list[RawSpan]:
    spans = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for resource_spans in json.loads(line).get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                scope = scope_spans.get("scope", {}).get("name", "")
                spans.extend(_raw_span(scope, raw) for raw in scope_spans.get("spans", []))
    return spans


def _raw_span(scope: str, raw: dict[str, Any]) -> RawSpan:
    return RawSpan(
        scope=scope,
        name=raw["name"],
        trace_id=raw["traceId"],
        span_id=raw["spanId"],
        parent_id=raw.get("parentSpanId") or None,
        start=int(raw["startTimeUnixNano"]),
        end=int(raw["endTimeUnixNano"]),
        attributes=_attributes(raw),
        events=[(event["name"], _attributes(event)) for event in raw.get("events", [])],
        linked_trace_ids=[link["traceId"] for link in raw.get("links", [])],
    )


def _attributes(holder: dict[str, Any]) -> dict[str, Any]:
    return {item["key"]: any_value(item["value"]) for item in holder.get("attributes", [])}
