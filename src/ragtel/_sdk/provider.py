"""Which TracerProvider a ragtel tracer uses, and what ragtel adds to it.

The rules, in order:

1. An explicit ``tracer_provider=`` wins.
2. Otherwise a global SDK ``TracerProvider`` the app already installed is
   reused. It gets ragtel's span processor once, however many tracers are
   created, and an exporter only when the call asks for one
   (``output_filepath``, ``exporter=`` or ``otlp_*`` arguments): the app
   already exports its spans.
3. Otherwise ragtel creates an SDK provider (Resource from
   ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``) with exporters from
   the arguments or the environment, and installs it as the global provider
   unless ``set_global=False``, so other instrumentations join the same traces.

A global provider that is not the SDK's (a no-op one, say) is used as it is.

What ragtel added to each provider (an :class:`Installation`) is recorded in
``ragtel._state.STATE.installations`` (read here, typed, through
:func:`_installations`), with the private provider of ``set_global=False``.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
import weakref
from typing import TYPE_CHECKING, cast

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from ragtel._config import DEFAULT_SPAN_ATTRIBUTE_COUNT_LIMIT, DropCounts, ExportConfig
from ragtel._sdk import child_exit as _child_exit
from ragtel._sdk.processor import RagtelSpanProcessor
from ragtel._sdk.sigterm import install_once as install_sigterm_flush
from ragtel._state import STATE

if TYPE_CHECKING:
    from ragtel._sdk.batching import CountingBatchSpanProcessor
    from ragtel._sdk.log_pipeline import LogPipeline

_logger = logging.getLogger("ragtel")


class Installation:
    """What ragtel added to one SDK provider."""

    def __init__(self, provider: SdkTracerProvider, *, owned: bool) -> None:
        # Weak: this record lives in a weak-keyed registry and must not keep its key alive.
        self._provider = weakref.ref(provider)
        self.owned = owned
        self.processor = RagtelSpanProcessor()
        self.exporters: dict[tuple[str, ...], CountingBatchSpanProcessor] = {}
        self.export_configs: dict[tuple[str, ...], ExportConfig] = {}
        """The configuration each exporter was built from (log() mirrors it)."""
        self.log_pipeline: LogPipeline | None = None
        """The log() pipeline mirroring the exporters, built on first use (_sdk.log_pipeline)."""
        self.retired: dict[tuple[str, ...], CountingBatchSpanProcessor] = {}
        """Exporters stopped by a shutdown, by target, until exporters are added again:
        still registered on the provider (the SDK cannot remove them), they count the
        spans that end there meanwhile as dropped."""
        self.stopped = False
        """Shut down, and not installed again since."""
        self.exit_hook = False
        """ragtel's own flush at exit is registered for this installation."""
        self._retired_drops = DropCounts()

    @property
    def provider(self) -> SdkTracerProvider | None:
        return self._provider()

    def drop_counts(self) -> DropCounts:
        with STATE.providers_lock:
            processors = [*self.retired.values(), *self.exporters.values()]
            counts = [self._retired_drops, *(p.drop_counts() for p in processors)]
        return DropCounts(*(sum(column) for column in zip(*counts, strict=True)))

    def file_paths(self) -> list[str]:
        with STATE.providers_lock:
            return [key[1] for key in self.exporters if key[0] == "file"]

    def shutdown_exporters(self) -> None:
        """Stop ragtel's exporters; a later request for the same target builds a new one.

        The SDK cannot remove a processor from a provider, so a stopped one
        stays registered: until exporters are added again, it counts the spans
        that still end on the provider as dropped (and ragtel's processor warns
        once that they are).
        """
        with STATE.providers_lock:
            retired = dict(self.exporters)
            self.exporters.clear()
            self.export_configs.clear()
            pipeline, self.log_pipeline = self.log_pipeline, None
            for key, processor in retired.items():
                self._replace_retired(key, processor)
            self.stopped = True
            if retired:
                self.processor.exporting_stopped = True
        if pipeline is not None:
            pipeline.shutdown()
        for processor in retired.values():
            processor.shutdown()

    def _replace_retired(
        self, key: tuple[str, ...], processor: CountingBatchSpanProcessor | None
    ) -> None:
        """Make ``processor`` (or none) the retired exporter of ``key`` (the lock is held).

        The one it replaces keeps its drop counts as they are now: the spans it
        sees from here on are another exporter's to deliver.
        """
        previous = self.retired.pop(key, None)
        if previous is not None:
            counts = (self._retired_drops, previous.drop_counts())
            self._retired_drops = DropCounts(*(sum(column) for column in zip(*counts, strict=True)))
        if processor is not None:
            self.retired[key] = processor


def _installations() -> weakref.WeakKeyDictionary[SdkTracerProvider, Installation]:
    """``STATE.installations``, typed: the state module sits below this one and cannot name
    ``Installation``; this module alone writes it."""
    return cast("weakref.WeakKeyDictionary[SdkTracerProvider, Installation]", STATE.installations)


def resolve_provider(
    tracer_provider: trace.TracerProvider | None, *, set_global: bool
) -> tuple[trace.TracerProvider, bool]:
    """Return the provider to use, and whether ragtel must create a new one instead."""
    if tracer_provider is not None:
        return tracer_provider, False
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        private = STATE.private_provider
        if not set_global and private is not None:
            return private, False
        return current, True
    return current, False


def create_provider(*, set_global: bool) -> tuple[trace.TracerProvider, bool]:
    """A new SDK provider, installed as the global one when ``set_global``.

    Returns the provider to use and whether ragtel owns it: if another thread
    installed a global provider first, that one is used (and not owned).
    """
    from opentelemetry.sdk.resources import Resource  # resource detection is costly to import

    provider = SdkTracerProvider(resource=Resource.create(), span_limits=span_limits())
    if not set_global:
        with STATE.providers_lock:
            STATE.private_provider = provider
        return provider, True
    trace.set_tracer_provider(provider)
    current = trace.get_tracer_provider()
    if current is provider:
        return provider, True
    provider.shutdown()
    return current, False


def span_limits() -> SpanLimits:
    # Raise the SDK's attribute-count default only if the user set no limit.
    if os.environ.get("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") or os.environ.get(
        "OTEL_ATTRIBUTE_COUNT_LIMIT"
    ):
        return SpanLimits()
    return SpanLimits(max_span_attributes=DEFAULT_SPAN_ATTRIBUTE_COUNT_LIMIT)


def install(
    provider: trace.TracerProvider,
    export: ExportConfig,
    *,
    owned: bool,
    prebuilt: list[tuple[tuple[str, ...], CountingBatchSpanProcessor]] | None = None,
) -> Installation | None:
    """Add ragtel's processor (once) and the requested exporters (once each) to ``provider``.

    Exporters are built before anything is added, so a failure leaves the
    provider as it was.
    """
    if not isinstance(provider, SdkTracerProvider):
        if export.exporters:
            _logger.warning(
                "ragtel: the tracer provider is not an OpenTelemetry SDK provider; "
                "exporters %s were not added",
                ", ".join(export.exporters),
            )
        return None
    with STATE.providers_lock:
        installation = _installations().get(provider)
        exporters = prebuilt if prebuilt is not None else build_missing(installation, export)
        if installation is None:
            installation = Installation(provider, owned=owned)
            provider.add_span_processor(installation.processor)
            _installations()[provider] = installation
        if not installation.exit_hook and (not installation.owned or installation.stopped):
            # The app's provider may not shut down at exit, and one ragtel shut down
            # flushes nothing at exit any more: ragtel's exporters must still flush.
            atexit.register(_shutdown_at_exit, weakref.ref(installation))
            installation.exit_hook = True
        for key, processor in exporters:
            provider.add_span_processor(processor)
            installation.exporters[key] = processor
            installation.export_configs[key] = export
        if installation.exporters:
            # Spans are delivered again: the stopped exporters count no more drops.
            for key in list(installation.retired):
                installation._replace_retired(key, None)
        # Installed again after a shutdown: in use again.
        installation.stopped = False
        installation.processor.exporting_stopped = bool(installation.retired)
        has_exporters = bool(installation.exporters)
    if has_exporters:
        install_sigterm_flush(flush_all, _flush_timeout_seconds)
        # multiprocessing children end through os._exit: no atexit there.
        _child_exit.enable(flush_all, _flush_timeout_seconds)
    return installation


def build_missing(
    installation: Installation | None, export: ExportConfig
) -> list[tuple[tuple[str, ...], CountingBatchSpanProcessor]]:
    """Build the processors ``export`` asks for that ``installation`` does not have yet."""
    present = installation.exporters if installation is not None else {}
    keys = {name: _exporter_key(name, export) for name in export.exporters}
    missing = tuple(name for name, key in keys.items() if key not in present)
    if not missing:
        return []
    from ragtel._sdk.exporters import build_processors  # exporters load on first use

    processors = build_processors(export._replace(exporters=missing))
    return [(keys[name], processor) for name, processor in zip(missing, processors, strict=True)]


def _exporter_key(name: str, export: ExportConfig) -> tuple[str, ...]:
    if name == "file":
        return (name, os.path.abspath(export.file_path or ""))
    if name == "otlp":
        return (name, export.otlp.protocol, export.otlp.endpoint or "")
    return (name,)


def _shutdown_at_exit(reference: weakref.ref[Installation]) -> None:
    installation = reference()
    if installation is not None:
        installation.shutdown_exporters()


def flush_all() -> None:
    """Flush every exporter ragtel added, and the whole provider where ragtel owns it."""
    deadline = time.monotonic() + _flush_timeout_seconds()

    def remaining_millis() -> int:
        return int(max(deadline - time.monotonic(), 0) * 1000)

    with STATE.providers_lock:
        installations = list(_installations().values())
    for installation in installations:
        provider = installation.provider
        if installation.owned and provider is not None:
            provider.force_flush(remaining_millis())
        else:
            for processor in list(installation.exporters.values()):
                processor.force_flush(remaining_millis())
        if installation.log_pipeline is not None:
            installation.log_pipeline.force_flush(remaining_millis())


def _flush_timeout_seconds() -> float:
    with STATE.providers_lock:
        timeouts = [
            processor.config.export_timeout_millis
            for installation in _installations().values()
            for processor in installation.exporters.values()
        ]
    return max(timeouts, default=0) / 1000
