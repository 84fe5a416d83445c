"""A LangChain RAG app with no tracing code at all.

Run it under OpenTelemetry's auto-instrumentation, with ragtel installed
(``pip install 'ragtel[langchain]' langchain-text-splitters``)::

    opentelemetry-instrument python examples/zero_code_rag.py

ragtel's distro and configurator set up the tracer provider (spans go to
``ragtel-traces.jsonl``, or to the collector of ``OTEL_EXPORTER_OTLP_ENDPOINT``)
and its LangChain instrumentor records the pipeline: chunking, embedding,
retrieval and the answer, with chunk_size, chunk_overlap, the embedding model
and top_k in each trace's ParamSet. Everything here runs offline: the
embeddings and the chat model are LangChain's own deterministic fakes.
"""

from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter

HANDBOOK = """\
Refunds are paid back to the original card within five working days.
Orders above 50 euros ship for free; smaller orders cost 4 euros to ship.
Support answers by email within one working day, and by chat from 9 to 17.
"""

QUESTIONS = ["How long do refunds take?", "When is shipping free?"]


def build_chain(chunk_size: int, top_k: int):  # type: ignore[no-untyped-def]
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=10)
    chunks = splitter.split_documents([Document(HANDBOOK, metadata={"source": "handbook"})])
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=16))
    store.add_documents(chunks)
    retriever = store.as_retriever(search_kwargs={"k": top_k})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\n{context}"), ("human", "{question}")]
    )
    model = FakeListChatModel(responses=["Within five working days.", "Above 50 euros."])
    return (
        {
            "context": retriever | (lambda docs: "\n".join(d.page_content for d in docs)),
            "question": RunnablePassthrough(),
        }
        | prompt
        | model
        | StrOutputParser()
    )


if __name__ == "__main__":
    for chunk_size, top_k in ((80, 1), (160, 2)):
        chain = build_chain(chunk_size, top_k)
        for question in QUESTIONS:
            print(f"chunk_size={chunk_size} top_k={top_k} {question!r}: {chain.invoke(question)}")
