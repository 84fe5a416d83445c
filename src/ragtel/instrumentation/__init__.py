"""Instrumentors for the OpenAI SDK, LangChain and LlamaIndex, and the zero-code set-up.

Each instrumentor is an OpenTelemetry ``BaseInstrumentor``: it records the
library's calls as spans with the GenAI attributes, ragtel's RAG events, and
the pipeline's settings (model, temperature, chunk size, top_k…) in the
trace's ParamSet, with no tracing code in the app::

    from ragtel.instrumentation import LangChainInstrumentor

    LangChainInstrumentor().instrument()            # the global provider
    LangChainInstrumentor().instrument(tracer_provider=provider)

They need the ``instrumentation`` extra and their library (the ``openai``,
``langchain`` and ``llama-index`` extras). ``opentelemetry-instrument`` finds
them through entry points, and ragtel's configurator sets up ragtel's
processor and exporters (see ``ragtel.instrumentation.auto``).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragtel.instrumentation.langchain import LangChainInstrumentor
    from ragtel.instrumentation.llama_index import LlamaIndexInstrumentor
    from ragtel.instrumentation.openai import OpenAIInstrumentor

# Each loads its library only when asked for, so listing them costs nothing.
_EXPORTS = {
    "LangChainInstrumentor": f"{__name__}.langchain",
    "LlamaIndexInstrumentor": f"{__name__}.llama_index",
    "OpenAIInstrumentor": f"{__name__}.openai",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ragtel.instrumentation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = ["LangChainInstrumentor", "LlamaIndexInstrumentor", "OpenAIInstrumentor"]
