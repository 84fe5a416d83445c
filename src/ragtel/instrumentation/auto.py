"""Zero-code set-up: ``opentelemetry-instrument python app.py``.

``opentelemetry-instrument`` loads a distro, then a configurator, then every
installed instrumentor, all through entry points:

* :class:`RagtelDistro` (entry point ``ragtel``) selects ragtel's
  configurator, unless ``OTEL_PYTHON_CONFIGURATOR`` names another;
* :class:`RagtelConfigurator` installs the global SDK provider with ragtel's
  span processor (ParamSets, context attributes) and the exporters of the
  standard variables (``OTEL_TRACES_EXPORTER``, ``OTEL_EXPORTER_OTLP_*``), or
  the embedded ``ragtel-traces.jsonl`` file when none is set;
* ragtel's instrumentors (``ragtel-openai``, ``ragtel-langchain``,
  ``ragtel-llama-index``) patch the libraries that are installed, and honour
  ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.

``OTEL_SDK_DISABLED=true`` leaves everything as it is.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk._configuration import _BaseConfigurator

CONFIGURATOR_NAME = "ragtel"
"""The name of ragtel's ``opentelemetry_configurator`` entry point."""


class RagtelDistro(BaseDistro):  # type: ignore[misc]
    """Pairs ``opentelemetry-instrument`` with ragtel's configurator."""

    def _configure(self, **kwargs: Any) -> None:
        # Runs before the configurators load: with other distros installed,
        # the configurator of the distro that was chosen is the one that runs.
        os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", CONFIGURATOR_NAME)


class RagtelConfigurator(_BaseConfigurator):  # type: ignore[misc]
    """Sets up the global SDK provider with ragtel's processor and exporters."""

    def _configure(self, **kwargs: Any) -> None:
        configure_from_environment()


def configure_from_environment() -> None:
    """Install ragtel on the global provider, creating it from the environment if needed."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    from ragtel._factory import instrumentation_tracer

    instrumentation_tracer("ragtel", None)
