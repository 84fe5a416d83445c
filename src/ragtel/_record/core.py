"""``TracerCore``: everything a tracer's recorders need, in one explicit object.

``LastMileTracer`` (the façade in ``ragtel._tracer``) builds one at construction
and hands it to the plain recorder functions of this package, so every
collaborator a recorder uses is named here, typed, and set once.
"""

from __future__ import annotations

from typing import Any, NoReturn

from opentelemetry import trace

from ragtel._config import CaptureConfig
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._sdk.provider import Installation
from ragtel._sdk.tracer_profile import TracerProfile


class TracerCore:
    """The parts one ``LastMileTracer`` is made of; immutable once built.

    A plain class with slots rather than a frozen dataclass: defining a
    dataclass costs about a millisecond at import, which every
    ``from ragtel import get_lastmile_tracer`` would pay, and its reads are
    no faster.
    """

    __slots__ = (
        "capture",
        "delegate",
        "installation",
        "name",
        "processor",
        "profile",
        "provider",
        "reach",
        "sdk_disabled",
    )

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

    def __init__(
        self,
        *,
        name: str,
        delegate: trace.Tracer,
        provider: trace.TracerProvider,
        capture: CaptureConfig,
        profile: TracerProfile,
        installation: Installation | None,
        processor: RagtelSpanProcessor | None,
        reach: int,
        sdk_disabled: bool,
    ) -> None:
        for field, value in (
            ("name", name),
            ("delegate", delegate),
            ("provider", provider),
            ("capture", capture),
            ("profile", profile),
            ("installation", installation),
            ("processor", processor),
            ("reach", reach),
            ("sdk_disabled", sdk_disabled),
        ):
            object.__setattr__(self, field, value)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"TracerCore is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"TracerCore is immutable: cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"TracerCore(name={self.name!r})"
