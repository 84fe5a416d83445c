"""Simulated users who judge the demo's answers, after the traces were exported.

Feedback arrives late, the way clicks do: each answer's trace has already
been written, so the feedback joins it through the context string the
answer was returned with. Whether an answer is judged at all is random
(seeded); how it is judged follows from the answer, so that the
configurations that answer better collect visibly better feedback.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from ragtel._tracer import LastMileTracer
from ragtel.cli.demo.traces import QueryRecord

RESPONSE_RATE: Final = 0.8
"""Share of answers a simulated user gives feedback on."""
COMMENT_RATE: Final = 0.5
"""Share of wrong answers that also get a written complaint."""
CORRECTNESS_LABELS: Final = ("correct", "partial", "wrong")


@dataclass(frozen=True)
class Verdict:
    thumbs_up: bool
    relevance: float
    correctness: str
    complaint: str


def judge(record: QueryRecord) -> Verdict:
    """What a user who knows the right answer thinks of ``record``."""
    question = record.question
    context = _normalised(" ".join(record.context))
    answer = _normalised(record.answer or "")
    expected = _normalised(question.expected_fact)
    thumbs_up = bool(expected) and expected in answer
    if thumbs_up:
        correctness = "correct"
    elif expected and expected in context:
        correctness = "partial"  # the passages held the fact; the answer left it out
    else:
        correctness = "wrong"
    if record.error is not None:
        complaint = f"No answer at all; I wanted to know about {question.topic}."
    else:
        complaint = f"Not what I asked: nothing about {question.topic}."
    return Verdict(thumbs_up, _relevance(question.key_terms, context), correctness, complaint)


def _relevance(key_terms: tuple[str, ...], context: str) -> float:
    if not key_terms:
        return 0.0
    found = sum(1 for term in key_terms if _normalised(term) in context)
    return round(found / len(key_terms), 3)


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def give_feedback(tracer: LastMileTracer, records: list[QueryRecord], seed: int) -> int:
    """Log feedback on some of ``records``; return how many answers were judged."""
    users = random.Random(seed)
    judged = 0
    for record in records:
        responds = users.random() < RESPONSE_RATE
        comments = users.random() < COMMENT_RATE  # drawn every time: same seed, same choices
        if record.trace_context is None or not responds:
            continue
        _log_verdict(tracer, record.trace_context, judge(record), comments)
        judged += 1
    return judged


def _log_verdict(tracer: LastMileTracer, context: str, verdict: Verdict, comments: bool) -> None:
    tracer.log_binary_feedback(verdict.thumbs_up, context=context, name="thumbs")
    tracer.log_numeric_feedback(verdict.relevance, context=context, name="relevance")
    tracer.log_categorical_feedback(
        verdict.correctness, CORRECTNESS_LABELS, context=context, name="correctness"
    )
    if verdict.correctness == "wrong" and comments:
        tracer.log_text_feedback(verdict.complaint, context=context, name="comment")
