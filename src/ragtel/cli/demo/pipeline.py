"""The demo's RAG pipeline, without any tracing: corpus, chunks, BM25, rerank, answers.

Everything is deterministic and written with the standard library, so the
demo runs offline and gives the same answers on every run. The pieces are
toys, but each has the property that makes the sweep interesting: small
chunks cut sentences apart, a small ``top_k`` misses context, and every
word of context costs the answerer time.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from ragtel.cli import demo as demo_package

CORPUS_DIRECTORY = "corpus"

EMBEDDING_DIMENSIONS = 32
ANSWER_SENTENCES = 2
ANSWER_TEMPLATE = "From the Driftnote help centre: {sentences}"
MIN_ANSWER_COVERAGE = 0.35
"""Below this share of the question's weight, no sentence answers it: refuse, don't guess."""

BM25_K1 = 1.5
BM25_B = 0.75

_STOPWORD_TEXT = (
    "a an and are as at be by can could do does for from has have how i if in into is it its "
    "me my of on or so that the their them then there they this to was we what when where "
    "which while who why will with you your"
)
# Words that shape a question without naming its subject ("how long", "what happens").
_QUESTION_WORD_TEXT = "happens long many much take"
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_QUESTION_WORDS = frozenset(_QUESTION_WORD_TEXT.split())
# The query rewriter's vocabulary: how users ask versus how the help centre writes.
_REWRITES = {
    "cost": ("costs", "price"),
    "edit": ("edit", "change"),
    "formats": ("formats", "exports"),
    "unsynced": ("not", "uploaded"),
    "fails": ("fails", "retries"),
}
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class SourceDocument:
    """One help-centre article: its file stem, its title and its text without the title."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class TextChunk:
    """A window of words of one document, with its terms and hashed term vector."""

    id: str
    text: str
    terms: tuple[str, ...]
    vector: tuple[float, ...]


@dataclass(frozen=True)
class ScoredChunk:
    chunk: TextChunk
    score: float


class UnansweredQuestion(Exception):
    """The context holds nothing that answers the question."""


# Corpus and chunking -----------------------------------------------------------


def load_corpus() -> list[SourceDocument]:
    """The bundled help-centre articles, in file name order."""
    # Beside this module, in whatever holds the package (a wheel puts the files there too).
    folder = resources.files(demo_package).joinpath(CORPUS_DIRECTORY)
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".md")),
        key=lambda entry: entry.name,
    )
    return [
        _parse_document(entry.name[: -len(".md")], entry.read_text("utf-8")) for entry in entries
    ]


def _parse_document(document_id: str, markdown: str) -> SourceDocument:
    first_line, _, body = markdown.partition("\n")
    return SourceDocument(document_id, first_line.lstrip("# ").strip(), " ".join(body.split()))


def chunk_document(document: SourceDocument, chunk_size: int, overlap: int) -> list[TextChunk]:
    """Windows of ``chunk_size`` words, each starting ``chunk_size - overlap`` words later."""
    words = document.text.split()
    step = max(chunk_size - overlap, 1)
    starts = range(0, max(len(words) - overlap, 1), step)
    return [
        _make_chunk(f"{document.id}#{number}", " ".join(words[start : start + chunk_size]))
        for number, start in enumerate(starts)
    ]


def _make_chunk(chunk_id: str, text: str) -> TextChunk:
    chunk_terms = tuple(terms(text))
    return TextChunk(chunk_id, text, chunk_terms, hashed_vector(chunk_terms))


# Text --------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words, in order."""
    return [_stem(word) for word in _WORD.findall(text.lower()) if word not in _STOPWORDS]


def _stem(word: str) -> str:
    # Plural and third-person "s" only: enough to match "refunds" with "refund".
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def sentences(text: str) -> list[str]:
    return [sentence for sentence in _SENTENCE_END.split(text) if sentence]


def count_words(text: str) -> int:
    return len(text.split())


def hashed_vector(chunk_terms: Sequence[str]) -> tuple[float, ...]:
    """A unit-length bag of words folded into a few dimensions: the demo's "embedding"."""
    values = [0.0] * EMBEDDING_DIMENSIONS
    for term in chunk_terms:
        # crc32, not hash(): str hashes change from one process to the next.
        values[zlib.crc32(term.encode()) % EMBEDDING_DIMENSIONS] += 1.0
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return tuple(value / norm for value in values)


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    return sum(a * b for a, b in zip(left, right, strict=True))


def rewrite_query(question: str) -> str:
    """The question's subject words, in the help centre's own words where they differ."""
    ignored = _STOPWORDS | _QUESTION_WORDS
    words = [word for word in _WORD.findall(question.lower()) if word not in ignored]
    rewritten = [term for word in words for term in _REWRITES.get(word, (word,))]
    return " ".join(dict.fromkeys(rewritten))


# Retrieval ---------------------------------------------------------------------


class Bm25Index:
    """Okapi BM25 over a fixed list of chunks."""

    def __init__(self, chunks: Sequence[TextChunk]) -> None:
        self.chunks = list(chunks)
        self._term_counts = [Counter(chunk.terms) for chunk in self.chunks]
        self._average_length = sum(len(chunk.terms) for chunk in self.chunks) / max(
            len(self.chunks), 1
        )
        document_frequency: Counter[str] = Counter()
        for counts in self._term_counts:
            document_frequency.update(counts.keys())
        self._document_frequency = document_frequency

    def idf(self, term: str) -> float:
        total = len(self.chunks)
        frequency = self._document_frequency.get(term, 0)
        return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    def search(self, query_terms: Sequence[str], top_k: int) -> list[ScoredChunk]:
        scored = [
            ScoredChunk(chunk, self._score(query_terms, counts, len(chunk.terms)))
            for chunk, counts in zip(self.chunks, self._term_counts, strict=True)
        ]
        # Stable sort: equal scores keep corpus order, so results never vary.
        scored.sort(key=lambda item: item.score, reverse=True)
        return scored[:top_k]

    def _score(self, query_terms: Sequence[str], counts: Counter[str], length: int) -> float:
        normaliser = BM25_K1 * (1 - BM25_B + BM25_B * length / (self._average_length or 1))
        score = 0.0
        for term in set(query_terms):
            frequency = counts.get(term, 0)
            if frequency:
                score += self.idf(term) * frequency * (BM25_K1 + 1) / (frequency + normaliser)
        return score


def rerank(query_terms: Sequence[str], retrieved: Sequence[ScoredChunk]) -> list[ScoredChunk]:
    """Reorder by how much of the query a chunk covers, and how closely (one sentence)."""
    wanted = set(query_terms)
    query_vector = hashed_vector(query_terms)
    reranked = [
        ScoredChunk(item.chunk, _rerank_score(wanted, query_vector, item.chunk))
        for item in retrieved
    ]
    reranked.sort(key=lambda item: item.score, reverse=True)
    return reranked


def _rerank_score(wanted: set[str], query_vector: Sequence[float], chunk: TextChunk) -> float:
    if not wanted:
        return 0.0
    coverage = len(wanted.intersection(chunk.terms)) / len(wanted)
    focus = max(
        (
            len(wanted.intersection(terms(sentence))) / len(wanted)
            for sentence in sentences(chunk.text)
        ),
        default=0.0,
    )
    return round(0.5 * coverage + 0.3 * focus + 0.2 * cosine(query_vector, chunk.vector), 6)


# Answering ---------------------------------------------------------------------


def fit_context(texts: Sequence[str], max_words: int) -> list[str]:
    """The texts in order, cut where ``max_words`` words are reached, like a model's window."""
    fitted: list[str] = []
    room = max_words
    for text in texts:
        words = text.split()[:room]
        if not words:
            break
        fitted.append(" ".join(words))
        room -= len(words)
    return fitted


def compose_answer(index: Bm25Index, query_terms: Sequence[str], context: Sequence[str]) -> str:
    """The context's sentences that best cover the query, templated: an LLM's reply, offline.

    Raises :class:`UnansweredQuestion` when no sentence covers enough of it.
    """
    weights = {term: index.idf(term) for term in set(query_terms)}
    total = sum(weights.values()) or 1.0
    candidates = _unique(sentence for text in context for sentence in sentences(text))
    scored = [(_coverage(sentence, weights) / total, sentence) for sentence in candidates]
    # Stable sort: among equals the sentence of the higher-ranked chunk wins.
    scored.sort(key=lambda item: item[0], reverse=True)
    if not scored or scored[0][0] < MIN_ANSWER_COVERAGE:
        raise UnansweredQuestion("no passage of the help centre answers this question")
    best = [sentence for score, sentence in scored[:ANSWER_SENTENCES] if score > 0]
    return ANSWER_TEMPLATE.format(sentences=" ".join(best))


def _coverage(sentence: str, weights: dict[str, float]) -> float:
    return sum(weights[term] for term in set(terms(sentence)) if term in weights)


def _unique(texts: Iterable[str]) -> list[str]:
    # Overlapping chunks repeat sentences; the first (best-ranked) one is kept.
    return list(dict.fromkeys(texts))
