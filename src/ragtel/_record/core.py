"""``TracerCore``: everything a tracer's recorders need, in one explicit object.

``LastMileTracer`` (the façade in ``ragtel._tracer``) builds one at construction
and hands it to the plain recorder functions of this package, so every
collaborator a recorder uses is named here, typed, and set once.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import trace

from ragtel._config import CaptureConfig
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._sdk.provider import Installation
from ragtel._sdk.tracer_profile import TracerProfile


@dataclass(frozen=True, slots=True)
class TracerCore:
    """The parts one ``LastMileTracer`` is made of; immutable once built."""

    name: str
    """The tracer's name, also its OTel instrumentation scope."""
    delegate: trace.Tracer
    """The SDK (or app's) tracer that starts every span."""
    provider: trace.TracerProvider
    """The provider the delegate came from."""
    capture: CaptureConfig
    """What is captured and how: content on/off, the mask, the size caps."""
    profile: TracerProfile
    """What this tracer brings to each trace: root attributes and default params."""
    installation: Installation | None
    """What ragtel added to the provider (exporters, processor); None on a foreign provider."""
    processor: RagtelSpanProcessor | None
    """The processor holding per-trace state (ParamSets); None when nothing was installed."""
    reach: int
    """Whether spans this tracer starts can record at all (``ragtel._sdk.recording``)."""
    sdk_disabled: bool
    """``OTEL_SDK_DISABLED`` was set when the tracer was made: every helper returns at once."""
