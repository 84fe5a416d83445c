"""What the demo's simulated users ask, and what a right answer must say."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """A user question and how the simulated user judges the answer.

    ``expected_fact`` must appear in the answer for a thumbs up;
    ``key_terms`` are what relevant context mentions; ``topic`` names what
    the user wanted, for their complaint when the answer misses it.
    """

    text: str
    expected_fact: str
    key_terms: tuple[str, ...]
    topic: str

    @property
    def answerable(self) -> bool:
        return bool(self.expected_fact)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "How long does a refund take to reach my card?",
        "5 to 10 business days",
        ("refund", "original card", "5 to 10 business days"),
        "how long refunds take",
    ),
    Question(
        "What happens when two devices edit the same note?",
        "conflict copy",
        ("both versions", "conflict copy", "device name"),
        "edit conflicts",
    ),
    Question(
        "How many people can I share a notebook with on the Free plan?",
        "up to 3 people",
        ("Free plan", "up to 3 people", "no limit"),
        "the sharing limit",
    ),
    Question(
        "Can support recover a locked notebook if I forget the passphrase?",
        "nobody can recover the notebook",
        ("locked notebook", "passphrase", "nobody can recover"),
        "lost passphrases",
    ),
    Question(
        "Which formats can I export my notes to?",
        "Markdown, PDF and HTML",
        ("Markdown, PDF and HTML", "ZIP archive", "Export"),
        "export formats",
    ),
    Question(
        "What happens to unsynced changes if I sign out while offline?",
        "not uploaded yet are lost",
        ("sign out", "queue", "are lost"),
        "signing out offline",
    ),
    Question(
        "How much does the Plus plan cost per year?",
        "40 dollars a year",
        ("Plus costs", "40 dollars a year", "4 dollars a month"),
        "the price of Plus",
    ),
    Question(
        "What happens to my workspace if a payment fails?",
        "retries the card three times",
        ("payment fails", "three times", "grace period"),
        "failed payments",
    ),
    # Nothing in the help centre covers this: the answerer refuses and the trace fails.
    Question(
        "Can I dictate notes with my smartwatch?",
        "",
        (),
        "voice notes on a watch",
    ),
)
