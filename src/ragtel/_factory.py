"""``get_lastmile_tracer``: one tracer per name, on the right provider."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util import types
from opentelemetry.util.types import AttributeValue

from ragtel import _environment as env
from ragtel._attributes.params import validated_params
from ragtel._config import CaptureConfig, Mask, env_flag, env_int, resolve_capture
from ragtel._context.handover import ContextLike, to_context
from ragtel._encoding.encoder import clean_text, quoted, stable_repr
from ragtel._sdk import provider as _provider
from ragtel._sdk.fork import reinit_in_child
from ragtel._sdk.processor import TracerProfile
from ragtel._sdk.recording import sdk_disabled
from ragtel._tracer import LastMileTracer, tracer_core
from ragtel._types import RagFlowType
from ragtel.semconv.attributes import (
    RAGTEL_PROJECT_ID,
    RAGTEL_PROJECT_NAME,
    RAGTEL_RAG_FLOW_TYPE,
)

_logger = logging.getLogger("ragtel")

F = TypeVar("F", bound=Callable[..., Any])

_tracers_lock = threading.Lock()
_tracers: dict[str, tuple[LastMileTracer, dict[str, Any], dict[str, Any]]] = {}
"""Each tracer by name, with the arguments it was asked for and those it was created from."""


def _reinit_lock_after_fork() -> None:
    global _tracers_lock
    _tracers_lock = threading.Lock()


reinit_in_child(_reinit_lock_after_fork)


def get_lastmile_tracer(
    tracer_name: str,
    lastmile_api_token: str | None = None,
    project_name: str | None = None,
    initial_params: Mapping[str, Any] | None = None,
    output_filepath: str | os.PathLike[str] | None = None,
    rag_flow_type: RagFlowType | str | None = None,
    *,
    project_id: str | None = None,
    pipeline_type: RagFlowType | str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    set_global: bool = True,
    exporter: str | Sequence[str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    otlp_compression: str | None = None,
    otlp_timeout: float | None = None,
    otlp_certificate: str | None = None,
    capture_content: bool | None = None,
    mask: Mask | None = None,
    propagate_params: bool | None = None,
    record_embeddings: bool | None = None,
    openinference: bool | None = None,
) -> LastMileTracer:
    """Return the tracer named ``tracer_name``, creating it on first use.

    The same name always returns the same :class:`LastMileTracer` (later
    arguments are then ignored, with a warning if they differ). Creating a
    tracer does no network I/O and never changes ``os.environ``.

    Args:
        tracer_name: The tracer's name, also its OTel instrumentation scope.
        lastmile_api_token: Sent as ``Authorization: Bearer <token>`` on OTLP
            export (default: ``LASTMILE_API_TOKEN``). Never logged or recorded.
            Surrounding whitespace is stripped; ValueError if it still holds a
            line break or another character outside printable ASCII.
        project_name: Recorded on each trace root as ``ragtel.project.name``.
        initial_params: Parameters recorded on every trace root as
            ``ragtel.param.<key>``.
        output_filepath: Also write spans to this file as OTLP JSON Lines.
            ValueError if it is a link, not a regular file, or a non-empty file
            that does not hold OTLP JSON Lines of traces (it is left untouched).
        rag_flow_type: ``"ingestion"`` or ``"query"``, recorded on trace roots.
        project_id: Recorded as ``ragtel.project.id`` (default: ``LASTMILE_PROJECT_ID``).
        pipeline_type: Alias of ``rag_flow_type``.
        tracer_provider: Use this provider instead of the global one.
        set_global: When ragtel creates a provider, install it globally (default True).
        exporter: ``"otlp"``, ``"console"``, ``"file"``, ``"none"`` or several
            (a list or a comma-separated string). Default: see below.
        otlp_endpoint: Collector URL; for HTTP the base URL (``/v1/traces`` is added).
        otlp_protocol: ``"http/protobuf"`` (default) or ``"grpc"``.
        otlp_headers: Extra headers for OTLP export. Values are stripped;
            ValueError (naming the header, never showing the value) for a value
            with a line break or another character outside printable ASCII.
        otlp_compression: ``"gzip"``, ``"deflate"`` (HTTP only) or ``"none"``.
        otlp_timeout: Seconds per export request.
        otlp_certificate: CA certificate file for TLS.
        capture_content: Record inputs and outputs (default True, or
            ``RAGTEL_CAPTURE_CONTENT``).
        mask: Called with every captured value before it is recorded; returns
            the value to record instead.
        propagate_params: Send each trace's ParamSet and context attributes to
            downstream services in W3C Baggage, and read them from upstream ones
            (default False, or ``RAGTEL_PROPAGATE_PARAMS``). Process-wide once on.
        record_embeddings: Record embedding vectors in embedding events, rounded
            and capped (default False, or ``RAGTEL_RECORD_EMBEDDINGS``).
        openinference: Also write OpenInference attributes, so Arize Phoenix and
            other OpenInference backends render retrieval, rerank and LLM views
            (default False, or ``RAGTEL_OPENINFERENCE``).

    Where spans go: with an explicit ``tracer_provider`` or an SDK provider the
    app already installed, only to exporters these arguments ask for. On a
    provider ragtel creates: to the exporters asked for here, else to
    ``OTEL_TRACES_EXPORTER``, else to OTLP if ``OTEL_EXPORTER_OTLP_ENDPOINT``
    is set, else to ``./ragtel-traces.jsonl`` (``RAGTEL_TRACES_FILE``).

    Example::

        tracer = get_lastmile_tracer("my-rag-app", project_name="support-bot")
    """
    _check_arguments(tracer_name, lastmile_api_token, project_name, project_id, output_filepath)
    flow = _flow_type(rag_flow_type, pipeline_type)
    exporter = _exporter_names(exporter)
    params = _initial_params(initial_params)
    # Every argument, to tell whether a later call asks for something else. Kept
    # in memory only and never logged: it holds the token.
    settings: dict[str, Any] = {
        "lastmile_api_token": lastmile_api_token,
        "project_name": project_name,
        "project_id": project_id,
        "rag_flow_type": flow,
        # stable_repr: a value's own __repr__ may raise.
        "initial_params": stable_repr(sorted(params.items(), key=lambda item: item[0]))
        if params
        else None,
        "output_filepath": os.fspath(output_filepath) if output_filepath is not None else None,
        "tracer_provider": id(tracer_provider) if tracer_provider is not None else None,
        "set_global": None if set_global else False,
        "exporter": stable_repr(exporter) if exporter is not None else None,
        "otlp_endpoint": otlp_endpoint,
        "otlp_protocol": otlp_protocol,
        "otlp_headers": repr(sorted(otlp_headers.items())) if otlp_headers else None,
        "otlp_compression": otlp_compression,
        "otlp_timeout": otlp_timeout,
        "otlp_certificate": otlp_certificate,
        "capture_content": capture_content,
        "mask": id(mask) if mask is not None else None,
        "propagate_params": propagate_params,
        "record_embeddings": record_embeddings,
        "openinference": openinference,
    }
    creation: dict[str, Any]
    with _tracers_lock:
        existing = _tracers.get(tracer_name)
        if existing is not None:
            tracer, first_settings, creation = existing
            # Arguments left at their default ask for nothing: only others are compared.
            ignored = [
                name
                for name, value in settings.items()
                if value is not None and value != first_settings[name]
            ]
            if ignored:
                _logger.warning(
                    "ragtel: tracer %r already exists; the configuration it was created with "
                    "is kept (ignored arguments: %s)",
                    tracer_name,
                    ", ".join(ignored),
                )
            installation = tracer_core(tracer).installation
            if installation is None or not installation.stopped:
                return tracer
            # Shut down: a tracer set up again as the first one was, that exports.
            tracer = _create_tracer(tracer_name, **creation)
            _tracers[tracer_name] = (tracer, first_settings, creation)
            return tracer
        creation = dict(
            project_name=project_name,
            project_id=project_id or os.environ.get(env.LASTMILE_PROJECT_ID),
            flow=flow,
            params=params,
            tracer_provider=tracer_provider,
            set_global=set_global,
            export_arguments={
                "exporter": exporter,
                "output_filepath": output_filepath,
                "otlp_endpoint": otlp_endpoint,
                "otlp_protocol": otlp_protocol,
                "otlp_headers": otlp_headers,
                "otlp_compression": otlp_compression,
                "otlp_timeout": otlp_timeout,
                "otlp_certificate": otlp_certificate,
                "api_token": lastmile_api_token,
                "fallback_token": os.environ.get(env.LASTMILE_API_TOKEN),
            },
            capture=resolve_capture(capture_content, mask, record_embeddings, openinference),
        )
        tracer = _create_tracer(tracer_name, **creation)
        _tracers[tracer_name] = (tracer, settings, creation)
    if propagate_params is None:
        propagate_params = env_flag(env.RAGTEL_PROPAGATE_PARAMS, False)
    if propagate_params and not tracer_core(tracer).sdk_disabled:
        from ragtel._context import propagation as _propagation  # loads the global propagators: only when asked

        _propagation.enable(
            env_int(env.RAGTEL_PROPAGATION_MAX_BYTES, _propagation.DEFAULT_MAX_BYTES, minimum=64)
        )
    return tracer


def instrumentation_tracer(
    scope_name: str, tracer_provider: trace.TracerProvider | None
) -> LastMileTracer:
    """A tracer for an instrumentor, configured from the environment only.

    Kept out of the one-tracer-per-name registry: each ``instrument()`` call
    may name another provider. With none, the global provider is used, and
    ragtel creates it (with exporters from the environment, or the default
    file) when the app has none.
    """
    with _tracers_lock:
        return _create_tracer(
            scope_name,
            project_name=None,
            project_id=os.environ.get(env.LASTMILE_PROJECT_ID),
            flow=None,
            params={},
            tracer_provider=tracer_provider,
            set_global=True,
            export_arguments={
                "exporter": None,
                "output_filepath": None,
                "otlp_endpoint": None,
                "otlp_protocol": None,
                "otlp_headers": None,
                "otlp_compression": None,
                "otlp_timeout": None,
                "otlp_certificate": None,
                "api_token": None,
                "fallback_token": os.environ.get(env.LASTMILE_API_TOKEN),
            },
            capture=resolve_capture(None, None, None, None),
        )


def _create_tracer(
    tracer_name: str,
    *,
    project_name: str | None,
    project_id: str | None,
    flow: RagFlowType | None,
    params: dict[str, Any],
    tracer_provider: trace.TracerProvider | None,
    set_global: bool,
    export_arguments: dict[str, Any],
    capture: CaptureConfig,
) -> LastMileTracer:
    installation: _provider.Installation | None
    if sdk_disabled():
        # OTEL_SDK_DISABLED: as the SDK itself does, record and export nothing;
        # and start nothing either: no provider, thread, file, signal handler or
        # log line. Every helper of the tracer then returns at once.
        provider: trace.TracerProvider = trace.NoOpTracerProvider()
        installation = None
    else:
        provider, installation = _provider_and_installation(
            tracer_provider, set_global, export_arguments
        )

    # Recorded on every root: cleaned and capped as recorded text (a lone
    # surrogate would fail the export of every trace).
    max_length = capture.limits.max_length
    root_attributes: dict[str, AttributeValue] = {}
    if project_name:
        root_attributes[RAGTEL_PROJECT_NAME] = clean_text(project_name, max_length)
    if project_id:
        root_attributes[RAGTEL_PROJECT_ID] = clean_text(project_id, max_length)
    if flow is not None:
        root_attributes[RAGTEL_RAG_FLOW_TYPE] = flow.value
    # The instrumentation scope is exported with every span: its name must be
    # encodable (escaped, not cut: the processor finds the profile by it).
    scope_name = clean_text(tracer_name, sys.maxsize)
    profile = TracerProfile(
        scope_name, root_attributes=root_attributes, defaults=params, capture=capture
    )
    if installation is not None:
        installation.processor.register_tracer(profile)

    return LastMileTracer(
        tracer_name,
        provider.get_tracer(scope_name),
        provider=provider,
        capture=capture,
        installation=installation,
        profile=profile,
    )


def _provider_and_installation(
    tracer_provider: trace.TracerProvider | None,
    set_global: bool,
    export_arguments: dict[str, Any],
) -> tuple[trace.TracerProvider, _provider.Installation | None]:
    """The provider a new tracer uses, with ragtel's processor and exporters added."""
    provider, must_create = _provider.resolve_provider(tracer_provider, set_global=set_global)
    # Validate the arguments and build the exporters before anything global changes.
    from ragtel._sdk.exporters import resolve_export

    export = resolve_export(**export_arguments, reusing_provider=not must_create)
    if must_create:
        exporters = _provider.build_missing(None, export)
        provider, owned = _provider.create_provider(set_global=set_global)
        installation = _provider.install(
            provider, export, owned=owned, prebuilt=exporters if owned else None
        )
        if not owned:
            for _, unused in exporters:
                unused.shutdown()
    else:
        installation = _provider.install(provider, export, owned=False)
    return provider, installation


def _check_arguments(
    tracer_name: Any, token: Any, project_name: Any, project_id: Any, output_filepath: Any
) -> None:
    if not isinstance(tracer_name, str) or not tracer_name:
        raise TypeError(f"tracer_name must be a non-empty str; got {quoted(tracer_name)}")
    if token is not None and (isinstance(token, RagFlowType) or not isinstance(token, str)):
        # The older documented signature had pipeline_type second; it must be passed by keyword.
        hint = " (pass pipeline_type by keyword)" if isinstance(token, RagFlowType) else ""
        raise TypeError(f"lastmile_api_token must be a str{hint}; got {type(token).__name__}")
    for argument, value in (("project_name", project_name), ("project_id", project_id)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a str; got {type(value).__name__}")
    if output_filepath is not None and not isinstance(output_filepath, (str, bytes, os.PathLike)):
        raise TypeError(f"output_filepath must be a path; got {type(output_filepath).__name__}")


def _exporter_names(exporter: Any) -> str | tuple[str, ...] | None:
    """``exporter`` as given, or as a tuple when it is a list (a generator is read once).

    Checked here so that an error names the argument and never calls a
    value's own ``repr``.
    """
    if exporter is None or isinstance(exporter, str):
        return exporter
    names = tuple(exporter) if isinstance(exporter, Iterable) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise TypeError(f"exporter must be a str or a list of str; got {quoted(exporter)}")
    return names


def _flow_type(
    rag_flow_type: RagFlowType | str | None, pipeline_type: RagFlowType | str | None
) -> RagFlowType | None:
    if rag_flow_type is not None and pipeline_type is not None and rag_flow_type != pipeline_type:
        raise ValueError(
            "rag_flow_type and pipeline_type are aliases and must agree; "
            f"got {quoted(rag_flow_type)} and {quoted(pipeline_type)}"
        )
    value = rag_flow_type if rag_flow_type is not None else pipeline_type
    if value is None:
        return None
    try:
        return RagFlowType(value)
    except Exception:  # noqa: BLE001 - Enum's own message repr()s the value, which may raise
        allowed = ", ".join(repr(member.value) for member in RagFlowType)
        raise ValueError(f"rag_flow_type must be one of {allowed}; got {quoted(value)}") from None


def _initial_params(initial_params: Mapping[str, Any] | None) -> dict[str, Any]:
    if initial_params is None:
        return {}
    return validated_params(initial_params, argument="initial_params")


_default_capture: CaptureConfig | None = None


def traced(
    tracer: trace.Tracer,
    name: str | None = None,
    *,
    context: ContextLike | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: types.Attributes = None,
    links: Sequence[Link] | None = None,
    record_exception: bool = True,
    set_status_on_exception: bool = True,
) -> Callable[[F], F]:
    """Decorate a function so each call is a span of ``tracer`` recording its input and output.

    ``tracer`` may be a :class:`LastMileTracer` (its capture settings apply)
    or any OpenTelemetry tracer.

    Example::

        @traced(tracer)
        def rerank(query: str, chunks: list[str]) -> list[str]: ...
    """
    if isinstance(tracer, LastMileTracer):
        return tracer.trace_function(
            name,
            context,
            kind,
            attributes,
            links,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        )
    if not isinstance(tracer, trace.Tracer):
        raise TypeError(f"tracer must be an OpenTelemetry Tracer; got {type(tracer).__name__}")
    global _default_capture
    if _default_capture is None:
        _default_capture = resolve_capture(None, None)
    capture = _default_capture
    from ragtel._record.decorators import SpanOptions, trace_callable  # loaded on first use

    options = SpanOptions(
        context=to_context(context),
        kind=kind,
        attributes=attributes,
        links=links,
        record_exception=record_exception,
        set_status_on_exception=set_status_on_exception,
    )

    def decorator(func: F) -> F:
        return trace_callable(func, tracer=tracer, name=name, options=options, capture=capture)

    return decorator


def reset_for_tests() -> None:
    """Forget every tracer and ragtel's provider bookkeeping (test isolation only)."""
    global _default_capture
    with _tracers_lock:
        _tracers.clear()
    _default_capture = None
    _provider.reset_for_tests()
    propagation = sys.modules.get("ragtel._context.propagation")
    if propagation is not None:
        propagation.reset_for_tests()
    log_export = sys.modules.get("ragtel._record.log")
    if log_export is not None:
        log_export.reset_for_tests()
