"""docs/migrating.md: every "after" snippet runs as written and records what the guide says.

A snippet is the fenced ``python`` block right after a ``<!-- ragtel: after -->``
line. Each runs in its own process, in a temporary directory, with the
OpenTelemetry and ragtel environment scrubbed, so its spans go to the default
``./ragtel-traces.jsonl``; the test reads them back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ragtel

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "migrating.md"
AFTER = re.compile(r"^<!-- ragtel: after -->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SECTION = re.compile(r"^## (.+)$", re.MULTILINE)

# What each section's snippet must have recorded: (span name, attribute, value).
EXPECTED = {
    "LastMile": [
        ("answer", "ragtel.param.chunk_size", 512),
        ("ragtel.feedback", "ragtel.feedback.value.binary", True),  # a carrier: the span ended
    ],
    "tatara": [("generate_image", "ragtel.image.url_type", "permalink_copy")],
    "Adaline": [("API Call", "api.retries", 2), ("API Call", "error.type", "_OTHER")],
    "Opik": [
        ("generate", "gen_ai.usage.input_tokens", 12),
        ("generate", "gen_ai.provider.name", "openai"),
        ("generate", "ragtel.llm.cost", 0.0004),
        ("generate", "ragtel.feedback.scale.max", 5.0),
    ],
    "Tracium": [
        ("lookup", "ragtel.span.kind", "tool_call"),
        ("analyze_query", "ragtel.span.type", "plan"),
        ("generate", "gen_ai.usage.output_tokens", 200),
    ],
}


def after_snippets() -> dict[str, str]:
    """Each section's "after" snippet, keyed by the section title's first word."""
    text = GUIDE.read_text(encoding="utf-8")
    titles = [(match.start(), match.group(1).split()[0]) for match in SECTION.finditer(text)]
    snippets: dict[str, str] = {}
    for match in AFTER.finditer(text):
        title = [name for start, name in titles if start < match.start()][-1]
        assert title not in snippets, f"section {title} has two after snippets"
        snippets[title] = match.group(1)
    return snippets


def scrubbed_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("OTEL_", "RAGTEL_", "LASTMILE_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _value(value: dict[str, Any]) -> Any:
    (kind, raw), *_ = value.items()
    return int(raw) if kind == "intValue" else raw


def recorded(path: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, attributes, status) of every span of an OTLP JSON Lines file."""
    spans = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for resource in json.loads(line).get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    attributes = {a["key"]: _value(a["value"]) for a in span.get("attributes", [])}
                    for event in span.get("events", []):
                        attributes.update(
                            (a["key"], _value(a["value"])) for a in event.get("attributes", [])
                        )
                    spans.append((span["name"], attributes, span.get("status", {})))
    return spans


def test_the_guide_has_one_after_snippet_per_sdk() -> None:
    assert sorted(after_snippets()) == sorted(EXPECTED)


@pytest.mark.parametrize("sdk", sorted(EXPECTED))
def test_after_snippet_runs_as_written_and_records_the_data(sdk: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", after_snippets()[sdk]],
        cwd=tmp_path,
        env=scrubbed_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    spans = recorded(tmp_path / "ragtel-traces.jsonl")
    for name, key, value in EXPECTED[sdk]:
        found = [attributes.get(key) for span, attributes, _ in spans if span == name]
        assert value in found, f"{sdk}: {name}.{key} = {value!r} not in {found}"


def test_adalines_failure_fails_the_span(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", after_snippets()["Adaline"]],
        cwd=tmp_path,
        env=scrubbed_env(),
        timeout=60,
        check=True,
    )
    (status,) = [
        s for name, _, s in recorded(tmp_path / "ragtel-traces.jsonl") if name == "API Call"
    ]
    assert status == {"code": 2, "message": "the API timed out"}


def test_the_lastmile_calls_the_guide_names_exist() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## LastMile") : text.index("## tatara")]
    named = re.findall(r"`([a-z_]+)`", section.split("other documented calls", 1)[1])
    tracer = ragtel.get_lastmile_tracer("migrating-docs", exporter="none", set_global=False)
    missing = [name for name in named if not callable(getattr(tracer, name, None))]
    assert named and missing == []


def test_lastmiles_feedback_lands_in_the_answers_trace(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", after_snippets()["LastMile"]],
        cwd=tmp_path,
        env=scrubbed_env(),
        timeout=60,
        check=True,
    )
    traces: dict[str, set[str]] = {}
    for line in (tmp_path / "ragtel-traces.jsonl").read_text(encoding="utf-8").splitlines():
        for resource in json.loads(line).get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    traces.setdefault(span["name"], set()).add(span["traceId"])
    assert traces["ragtel.feedback"] == traces["answer"]
    assert len(traces["answer"]) == 1
