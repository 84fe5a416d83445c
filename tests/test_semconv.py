"""The semantic-convention registry: valid, generated files current, checked live, no literals."""

from __future__ import annotations

import ast
import re
import shutil
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor, TracerProvider

from ragtel import RagFlowType
from ragtel.semconv import attribute_values, attributes, events, spans
from semconv_check import Checker, LiveCheck

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "semconv" / "tools"))
import generate  # noqa: E402
import registry as semconv  # noqa: E402


def test_the_registry_is_valid() -> None:
    registry = semconv.load()
    assert semconv.validate(registry) == []
    assert len(registry.attributes) >= 35
    assert {g.type for g in registry.groups} == {"attribute_group", "span", "event"}


def test_generated_files_are_current() -> None:
    stale = [str(path.relative_to(ROOT)) for path in generate.stale_files()]
    assert stale == [], "run: python semconv/tools/generate.py"


def broken_copy(tmp_path: Path, edit: str, replacement: str, file: str = "registry.yaml") -> Path:
    root = tmp_path / "semconv"
    shutil.copytree(ROOT / "semconv", root, ignore=shutil.ignore_patterns("docs", "tools"))
    model = root / "model" / file
    text = model.read_text()
    assert edit in text
    if replacement:
        text = text.replace(edit, replacement, 1)
    else:  # drop the whole line holding ``edit``
        start = text.index(edit)
        line_start = text.rindex("\n", 0, start) + 1
        text = text[:line_start] + text[start + len(edit) :]
    model.write_text(text)
    return root


@pytest.mark.parametrize(
    ("edit", "replacement", "file", "problem"),
    [
        (
            "id: ragtel.project.id\n",
            "id: ragtel.project.name\n",
            "registry.yaml",
            "duplicate attribute ragtel.project.name",
        ),
        ("type: int\n", "type: integer\n", "registry.yaml", "invalid type 'integer'"),
        (
            "brief: Splitting documents into chunks.\n",
            "",
            "registry.yaml",
            "enum member 'chunking' needs",
        ),
        (
            "- ref: gen_ai.tool.name",
            "- ref: genai.tool.name",
            "events.yaml",
            "reference 'genai.tool.name' resolves to no",
        ),
        (
            "- ref: ragtel.query\n",
            "- ref: ragtel.querry\n",
            "events.yaml",
            "reference 'ragtel.querry' resolves to no",
        ),
        (
            'examples: ["support-bot"]\n',
            "",
            "registry.yaml",
            "attribute ragtel.project.name (registry.ragtel.project): no examples",
        ),
        ("stability: development\n", "stability: stable\n", "registry.yaml", "stability 'stable'"),
        (
            "name: ragtel.retrieval\n",
            "name: retrieval\n",
            "events.yaml",
            "event group needs a name",
        ),
        (
            "name: gen_ai.evaluation.result\n",
            "name: gen_ai.evaluation.outcome\n",
            "events.yaml",
            "or one listed under events in dependencies.lock.yaml",
        ),
        (
            "id: event.gen_ai.evaluation.result\n",
            "id: event.ragtel.evaluation\n",
            "events.yaml",
            "must have the id event.gen_ai.evaluation.result",
        ),
        (
            "- ref: gen_ai.request.model",
            "- ref: gen_ai.request.modle",
            "spans.yaml",
            "not in dependencies.lock",
        ),
        (
            "id: ragtel.chunk.count\n",
            "id: ragtel.Chunk Count\n",
            "registry.yaml",
            "lowercase dot-separated",
        ),
        (
            "id: ragtel.rewritten_queries\n",
            "id: ragtel.query.rewritten\n",
            "registry.yaml",
            "namespace of another",
        ),
        ("examples: [5]\n", 'examples: ["five"]\n', "registry.yaml", "example 'five' is not a int"),
        ("- id: embedding\n", "- id: chunking\n", "registry.yaml", "distinct ids and values"),
        (
            "conditionally_required: If the response was streamed.",
            "conditionally_required",
            "registry.yaml",
            "needs its condition as text",
        ),
    ],
)
def test_the_validator_finds_each_kind_of_problem(
    tmp_path: Path, edit: str, replacement: str, file: str, problem: str
) -> None:
    problems = semconv.validate(semconv.load(broken_copy(tmp_path, edit, replacement, file)))
    assert any(problem in line for line in problems), problems


def test_public_enums_agree_with_the_registry() -> None:
    registry_values = {m.value for m in attribute_values.RagtelRagFlowTypeValues}
    assert {m.value for m in RagFlowType} == registry_values


def test_generated_constants_match_the_registry() -> None:
    registry = semconv.load()
    assert attributes.RAGTEL_PROJECT_NAME == "ragtel.project.name"
    assert attributes.RAGTEL_PARAM_PREFIX == "ragtel.param."
    assert events.RAGTEL_RETRIEVAL_EVENT == "ragtel.retrieval"
    assert spans.RAGTEL_FEEDBACK_SPAN == "ragtel.feedback"
    declared = {
        value
        for name, value in vars(attributes).items()
        if name.isupper() and isinstance(value, str)
    }
    expected = {a.id + "." if a.is_template else a.id for a in registry.attributes.values()}
    assert declared == expected


def checked(
    provider_spans: list[dict[str, object]], events_: list[tuple[str, dict[str, object]]] = ()
) -> list[str]:  # type: ignore[assignment]
    checker = Checker()
    provider = TracerProvider()
    # Only this checker: these spans break the convention on purpose, and must
    # not reach the session's live check (which would fail the whole run).
    provider._active_span_processor = SynchronousMultiSpanProcessor()  # type: ignore[attr-defined]
    provider.add_span_processor(LiveCheck(checker))
    tracer = provider.get_tracer("check")
    for attributes_ in provider_spans:
        span = tracer.start_span(str(attributes_.pop("name", "s")), attributes=attributes_)  # type: ignore[arg-type]
        for name, event_attributes in events_:
            span.add_event(name, event_attributes)  # type: ignore[arg-type]
        span.end()
    return checker.violations


def test_the_live_check_accepts_what_the_registry_declares() -> None:
    assert (
        checked(
            [
                {
                    "ragtel.project.name": "p",
                    "ragtel.param.chunk_size": 512,
                    "ragtel.param.models": ("a", "b"),
                    "ragtel.rag_flow.type": "query",
                    "gen_ai.request.model": "gpt-4o",
                    "http.method": "GET",
                }
            ],
            [("ragtel.retrieval", {"ragtel.query": "q", "ragtel.chunk.scores": (0.5, 0.25)})],
        )
        == []
    )


def test_the_live_check_flags_undeclared_names_wrong_types_and_stray_keys() -> None:
    violations = checked(
        [
            {
                "name": "ragtel.unknown_span",
                "ragtel.bogus": "x",
                "ragtel.chunk.count": "five",
                "ragtel.rag_flow.type": "both",
                "gen_ai.made.up": 1,
            }
        ],
        [("ragtel.nope", {}), ("ragtel.retrieval", {"ragtel.response": "not a retrieval key"})],
    )
    expected = [
        "span name is not declared",
        "ragtel.bogus is not declared",
        "ragtel.chunk.count='five' is not of type int",
        "ragtel.rag_flow.type='both' is not a value of the enum",
        "gen_ai.made.up is not referenced",
        "event name is not declared",
        "ragtel.response is not listed for this event",
    ]
    for fragment in expected:
        assert any(fragment in violation for violation in violations), (fragment, violations)
    assert len(violations) == len(expected)


def test_every_sdk_provider_of_the_test_session_is_live_checked() -> None:
    processors = TracerProvider()._active_span_processor._span_processors  # type: ignore[attr-defined]
    assert any(isinstance(processor, LiveCheck) for processor in processors)


_RAGTEL_KEY = re.compile(r"ragtel\.[a-z]")  # a key, not a module such as ragtel._x


def test_package_code_names_ragtel_keys_only_through_generated_constants() -> None:
    offenders = []
    package = ROOT / "src" / "ragtel"
    for path in package.rglob("*.py"):
        if path.parent.name == "semconv":
            continue  # the generated constants themselves
        for node in ast.walk(ast.parse(path.read_text())):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and _RAGTEL_KEY.match(node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert offenders == []


def test_any_brief_makes_valid_generated_python() -> None:
    text = 'He said "stop" \\ then left."'
    assert ast.parse(f'X = 1\n"""{generate.python_docstring(text)}"""\n')
