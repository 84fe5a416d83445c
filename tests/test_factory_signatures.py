"""Both documented ``get_lastmile_tracer`` signatures work positionally.

LastMile documented an older order, ``(tracer_name, pipeline_type,
output_filepath, project_id, lastmile_api_token)``, and a newer one,
``(tracer_name, lastmile_api_token, project_name, initial_params,
output_filepath, rag_flow_type)``. A flow type in second place is the older.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtel import RagFlowType, get_lastmile_tracer
from ragtel.testing import SpanRecorder


def _root_attributes(path: Path, span_name: str) -> dict[str, object]:
    """The attributes of the span called ``span_name`` in an OTLP JSON Lines file."""
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    if span["name"] == span_name:
                        return {
                            item["key"]: next(iter(item["value"].values()))
                            for item in span.get("attributes", [])
                        }
    raise AssertionError(f"no span {span_name!r} in {path}")


@pytest.mark.parametrize("flow", [RagFlowType.QUERY, "query"])
def test_the_older_order_records_the_flow_type_and_writes_the_file(
    ragtel_spans: SpanRecorder, tmp_path: Path, flow: RagFlowType | str
) -> None:
    path = tmp_path / "out.jsonl"
    tracer = get_lastmile_tracer("older", flow, str(path), tracer_provider=ragtel_spans.provider)
    with tracer.start_as_current_span("root"):
        pass
    assert tracer.force_flush()
    attributes = ragtel_spans.by_name("root").attributes
    assert attributes is not None and attributes["ragtel.rag_flow.type"] == "query"
    assert "ragtel.project.name" not in attributes  # the path is not read as a project name
    assert _root_attributes(path, "root")["ragtel.rag_flow.type"] == "query"


@pytest.mark.parametrize("as_path", [str, Path], ids=["text", "pathlike"])
def test_the_older_order_with_no_flow_type_writes_the_file_it_names(
    ragtel_spans: SpanRecorder, tmp_path: Path, as_path: type
) -> None:
    # None fits both orders; a path in the project name's place is the older order's file.
    path = tmp_path / "out.jsonl"
    tracer = get_lastmile_tracer(
        "older-none", None, as_path(path), tracer_provider=ragtel_spans.provider
    )
    with tracer.start_as_current_span("root"):
        pass
    assert tracer.force_flush()
    attributes = ragtel_spans.by_name("root").attributes
    assert attributes is not None and "ragtel.project.name" not in attributes
    assert "ragtel.rag_flow.type" not in _root_attributes(path, "root")


def test_the_older_order_takes_all_five_positionally(
    ragtel_spans: SpanRecorder, tmp_path: Path
) -> None:
    path = tmp_path / "all.jsonl"
    tracer = get_lastmile_tracer(
        "older-all",
        "ingestion",
        path,
        "project-7",
        "secret-token-value",
        tracer_provider=ragtel_spans.provider,
    )
    with tracer.start_as_current_span("root"):
        pass
    assert tracer.force_flush()
    attributes = ragtel_spans.by_name("root").attributes
    assert attributes is not None
    assert attributes["ragtel.rag_flow.type"] == "ingestion"
    assert attributes["ragtel.project.id"] == "project-7"
    assert "secret-token-value" not in path.read_text()


def test_the_newer_order_is_unchanged(ragtel_spans: SpanRecorder, tmp_path: Path) -> None:
    path = tmp_path / "newer.jsonl"
    tracer = get_lastmile_tracer(
        "newer",
        "secret-token-value",
        "support-bot",
        {"chunk_size": 512},
        path,
        RagFlowType.INGESTION,
        tracer_provider=ragtel_spans.provider,
    )
    with tracer.start_as_current_span("root"):
        pass
    assert tracer.force_flush()
    attributes = ragtel_spans.by_name("root").attributes
    assert attributes is not None
    assert attributes["ragtel.project.name"] == "support-bot"
    assert attributes["ragtel.param.chunk_size"] == 512
    assert attributes["ragtel.rag_flow.type"] == "ingestion"
    assert path.exists()


def test_ambiguous_older_order_calls_raise_type_error(ragtel_spans: SpanRecorder) -> None:
    provider = ragtel_spans.provider
    # Given by position and by keyword: Python would say "multiple values".
    with pytest.raises(TypeError, match="output_filepath both by position and by keyword"):
        get_lastmile_tracer("a", "query", "x.jsonl", output_filepath="y.jsonl")
    with pytest.raises(TypeError, match="pipeline_type both by position and by keyword"):
        get_lastmile_tracer("a", "query", pipeline_type="query", tracer_provider=provider)
    # The older order has no initial_params: a mapping in its project_id place is refused.
    with pytest.raises(TypeError, match="project_id must be a str"):
        get_lastmile_tracer("a", "query", None, {"chunk_size": 1}, tracer_provider=provider)
    with pytest.raises(TypeError, match="at most 5 positional arguments"):
        get_lastmile_tracer("a", "query", None, None, None, None)
    # The older order's flow type disagreeing with rag_flow_type= is the aliases' ValueError.
    with pytest.raises(ValueError, match="aliases"):
        get_lastmile_tracer("a", "query", rag_flow_type="ingestion", tracer_provider=provider)
