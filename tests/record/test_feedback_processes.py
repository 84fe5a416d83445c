"""Late feedback across two real processes, arriving at a real OTLP receiver.

Process A answers a question and prints the context of its answer; process B,
started afterwards, logs feedback with that context alone. Both export over
OTLP to the test receiver, where the feedback must sit inside A's trace,
linked to the judged span.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

from otlp_receiver import OTLPReceiver
from semconv_check import check_otlp_json_span

ANSWERING = textwrap.dedent(
    """
    import json, sys
    from ragtel import get_lastmile_tracer

    tracer = get_lastmile_tracer("app", project_name="support-bot", otlp_endpoint=sys.argv[1])
    with tracer.start_as_current_span("answer") as answer:
        with tracer.start_as_current_span("retrieve") as retrieve:
            pass
        context = tracer.serialize_span_context()
    tracer.shutdown()
    print(json.dumps({
        "context": context,
        "trace_id": f"{answer.get_span_context().trace_id:032x}",
        "answer": f"{answer.get_span_context().span_id:016x}",
        "retrieve": f"{retrieve.get_span_context().span_id:016x}",
    }))
    """
)

JUDGING = textwrap.dedent(
    """
    import json, sys
    from ragtel import get_lastmile_tracer

    answer = json.loads(sys.argv[2])
    tracer = get_lastmile_tracer("feedback-handler", otlp_endpoint=sys.argv[1])
    context = answer["context"]
    tracer.log_binary_feedback(True, context=context, name="thumbs")
    tracer.log_numeric_feedback(0.75, context=context, name="stars")
    tracer.log_categorical_feedback(
        "too long", ["ok", "too long", "wrong"], context=context, name="length"
    )
    tracer.log_text_feedback("Cite the policy", context=context, name="comment")
    tracer.log_binary_feedback(
        False, answer["trace_id"], answer["retrieve"], name="retrieval", annotator="llm"
    )
    tracer.shutdown()
    """
)


def run(script: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_feedback_from_another_process_lands_in_the_answer_trace(receiver: OTLPReceiver) -> None:
    answer = json.loads(run(ANSWERING, receiver.http_endpoint).strip().splitlines()[-1])
    run(JUDGING, receiver.http_endpoint, json.dumps(answer))

    spans = receiver.wait_for_spans(7)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    carriers = {
        span["attributes"]["gen_ai.evaluation.name"]: span for span in by_name["ragtel.feedback"]
    }
    assert set(carriers) == {"thumbs", "stars", "length", "comment", "retrieval"}

    for name, carrier in carriers.items():
        judged = answer["retrieve"] if name == "retrieval" else answer["answer"]
        assert carrier["trace_id"] == answer["trace_id"], name
        assert carrier["parent_span_id"] == judged, name
        assert [(link["trace_id"], link["span_id"]) for link in carrier["links"]] == [
            (answer["trace_id"], judged)
        ], name
        assert carrier["attributes"]["ragtel.feedback.target.span_id"] == judged
        assert carrier["attributes"]["ragtel.feedback.scope"] == "span"
        assert carrier["resource"]["service.name"] == carriers["thumbs"]["resource"]["service.name"]

    assert carriers["thumbs"]["attributes"]["ragtel.feedback.value.binary"] is True
    assert carriers["stars"]["attributes"]["gen_ai.evaluation.score.value"] == 0.75
    assert carriers["length"]["attributes"]["ragtel.feedback.categories"] == [
        "ok",
        "too long",
        "wrong",
    ]
    assert carriers["length"]["attributes"]["gen_ai.evaluation.score.label"] == "too long"
    assert carriers["comment"]["attributes"]["ragtel.feedback.value.text"] == "Cite the policy"
    assert carriers["retrieval"]["attributes"]["ragtel.feedback.annotator"] == "llm"
    # Process B knew no project name; A's root has it.
    assert by_name["answer"][0]["attributes"]["ragtel.project.name"] == "support-bot"

    for request in receiver.requests("traces"):
        for resource_spans in request["request"].get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    check_otlp_json_span(span)
