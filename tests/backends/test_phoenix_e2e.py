"""End to end: spans in OpenInference compatibility mode, rendered by a real Arize Phoenix.

Spans go over OTLP/HTTP to a Phoenix server started on loopback ports, and are
read back through its REST API: retrieval documents with ids and scores, the
reranker's order, the LLM's token counts and every span kind must be intact.
"""

from __future__ import annotations

import uuid

import pytest

from phoenix_server import PhoenixServer
from ragtel import RetrievedChunk, get_lastmile_tracer


def test_phoenix_renders_retrieval_rerank_and_llm(
    phoenix: PhoenixServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = f"ragtel-e2e-{uuid.uuid4().hex[:8]}"
    # Phoenix files spans under the project named by this resource attribute.
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={project}")
    tracer = get_lastmile_tracer(
        "e2e",
        exporter="otlp",
        otlp_endpoint=phoenix.otlp_http_endpoint,
        openinference=True,
        set_global=False,
        initial_params={"chunk_size": 512},
    )
    retrieved = [
        RetrievedChunk("c1", "Refunds take five days.", retrieval_score=0.91),
        RetrievedChunk("c2", "Cards are refunded.", retrieval_score=0.72),
        RetrievedChunk("c3", "Shipping is free.", retrieval_score=0.31),
    ]
    reranked = [
        RetrievedChunk("c2", "Cards are refunded.", retrieval_score=0.97),
        RetrievedChunk("c1", "Refunds take five days.", retrieval_score=0.88),
    ]
    with tracer.start_as_current_span("answer"):
        with tracer.start_as_current_span("retrieve"):
            tracer.log_retrieval_event("How do refunds work?", retrieved)
        with tracer.start_as_current_span("rerank"):
            tracer.log_rerank_event(retrieved, reranked, {"model": "bge-reranker"})
        with tracer.start_as_current_span("generate"):
            tracer.log_llm_call(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "How do refunds work?"}],
                output="Refunds go back to your card within five days.",
                input_tokens=120,
                output_tokens=11,
            )
    assert tracer.force_flush(10_000)

    spans = {span["name"]: span for span in phoenix.wait_for_spans(project, 4, timeout=60)}
    retrieve, rerank, generate = spans["retrieve"], spans["rerank"], spans["generate"]
    assert retrieve["span_kind"] == "RETRIEVER"
    assert rerank["span_kind"] == "RERANKER"
    assert generate["span_kind"] == "LLM"
    assert spans["answer"]["attributes"]["ragtel.param.chunk_size"] == 512

    documents = retrieve["attributes"]
    assert [documents[f"retrieval.documents.{i}.document.id"] for i in range(3)] == [
        "c1",
        "c2",
        "c3",
    ]
    assert [documents[f"retrieval.documents.{i}.document.score"] for i in range(3)] == [
        0.91,
        0.72,
        0.31,
    ]
    assert documents["input.value"] == "How do refunds work?"

    order = rerank["attributes"]
    assert [order[f"reranker.output_documents.{i}.document.id"] for i in range(2)] == ["c2", "c1"]
    assert order["reranker.output_documents.0.document.score"] == 0.97
    assert order["reranker.model_name"] == "bge-reranker"

    usage = generate["attributes"]
    assert (usage["llm.token_count.prompt"], usage["llm.token_count.completion"]) == (120, 11)
    assert usage["llm.token_count.total"] == 131
    assert usage["llm.model_name"] == "gpt-4o-mini"
    assert {span["context"]["trace_id"] for span in spans.values()} == {
        retrieve["context"]["trace_id"]
    }
