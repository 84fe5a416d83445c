# Generated from semconv/model by semconv/tools/generate.py: do not edit.
"""The values of ragtel's enumerated attributes.

A module of its own: defining enums costs import time that the tracer,
which only needs the keys, should not pay.
"""

from enum import Enum


class RagtelFeedbackAnnotatorValues(Enum):
    """Values of ``ragtel.feedback.annotator``."""

    HUMAN = "human"
    """A person gave the feedback."""

    LLM = "llm"
    """A language model judged."""

    CODE = "code"
    """A program judged."""


class RagtelFeedbackKindValues(Enum):
    """Values of ``ragtel.feedback.kind``."""

    BINARY = "binary"
    """Thumbs up or down."""

    NUMERIC = "numeric"
    """A score between 0 and 1."""

    CATEGORICAL = "categorical"
    """One label out of a set of categories."""

    TEXT = "text"
    """Free text."""

    JSON = "json"
    """A structured value."""


class RagtelFeedbackScopeValues(Enum):
    """Values of ``ragtel.feedback.scope``."""

    SPAN = "span"
    """The feedback judges one span."""

    TRACE = "trace"
    """The feedback judges a whole trace."""

    PROJECT = "project"
    """The feedback is about the project, not one trace."""


class RagtelImageUrlTypeValues(Enum):
    """Values of ``ragtel.image.url_type``."""

    EPHEMERAL = "ephemeral"
    """The URL expires."""

    PERMALINK = "permalink"
    """The URL stays valid."""

    PERMALINK_COPY = "permalink_copy"
    """The URL stays valid; it points to a copy of the image kept by the host (tatara's form)."""


class RagtelRagFlowTypeValues(Enum):
    """Values of ``ragtel.rag_flow.type``."""

    INGESTION = "ingestion"
    """Loading, chunking, embedding and indexing documents."""

    QUERY = "query"
    """Answering a query: rewrite, retrieval, rerank, generation."""


class RagtelSpanKindValues(Enum):
    """Values of ``ragtel.span.kind``."""

    CHUNKING = "chunking"
    """Splitting documents into chunks."""

    EMBEDDING = "embedding"
    """Computing embeddings of chunks or queries."""

    MULTI_EMBEDDING = "multi_embedding"
    """Computing several kinds of embeddings at once."""

    QUERY = "query"
    """Answering a query with a language model."""

    RETRIEVAL = "retrieval"
    """Looking up chunks for a query in a vector store or index."""

    RERANKING = "reranking"
    """Reordering retrieved chunks."""

    SYNTHESIZE = "synthesize"
    """Combining retrieved context into an answer."""

    SUB_QUESTION = "sub_question"
    """Decomposing a query into sub-questions and answering them."""

    TEMPLATING = "templating"
    """Rendering a prompt template."""

    TOOL_CALL = "tool_call"
    """Calling a tool or function."""

    PROMPT_COMPOSITION = "prompt_composition"
    """Assembling the final prompt from its parts."""

    GUARDRAIL = "guardrail"
    """Checking input or output against a policy."""

    CUSTOM = "custom"
    """Any other step."""
