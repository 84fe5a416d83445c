"""``get_lastmile_tracer``: one tracer per name, on the right provider.

The way a call goes:

1. its positional arguments are named by the order they follow (LastMile's
   current or older signature, or OpenTelemetry's ``get_tracer``: see
   :func:`~ragtel._tracer_options.bind_positional`), then all are checked and
   frozen into one :class:`~ragtel._tracer_options.TracerOptions`;
2. the registry returns the tracer of that name if there is one (the name's
   first tracer in ``ragtel._state.STATE.tracers``; for another provider
   asked for, its own tracer in ``STATE.tracers_by_provider``, held weakly),
   warning when the options differ from those it was made from
   (``TracerOptions.ignored_arguments``);
3. otherwise (or when that tracer was shut down) a tracer is made: the
   environment's defaults are read once
   (:class:`~ragtel._tracer_options.EnvironmentDefaults`), the provider is
   chosen and ragtel's processor and exporters are added to it
   (:mod:`ragtel._sdk.provider`), and the tracer's profile is registered with
   the processor;
4. a new tracer switches baggage propagation on when asked.

``get_lastmile_tracer`` itself is long only by its signature and docstring,
which are the public contract; its body is the four steps above. The file
passes 400 lines for the same reason, and because ``traced`` lives here too.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard, TypeVar, cast, overload

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util import types
from opentelemetry.util.types import AttributeValue

from ragtel import _environment as env
from ragtel._config import Mask, env_flag, env_int, resolve_capture
from ragtel._context.handover import ContextLike, to_context
from ragtel._encoding.encoder import clean_text
from ragtel._sdk import provider as _provider
from ragtel._sdk.recording import sdk_disabled
from ragtel._sdk.tracer_profile import TracerProfile
from ragtel._state import STATE
from ragtel._tracer import LastMileTracer, tracer_core
from ragtel._tracer_options import (
    EnvironmentDefaults,
    TracerOptions,
    bind_positional,
    check_arguments,
    check_scope,
    environment_defaults,
    exporter_names,
    flow_type,
    initial_params_of,
    pick,
    tracer_name_of,
)
from ragtel._types import RagFlowType
from ragtel.semconv.attributes import (
    RAGTEL_PROJECT_ID,
    RAGTEL_PROJECT_NAME,
    RAGTEL_RAG_FLOW_TYPE,
)

if TYPE_CHECKING:
    from ragtel._config import ExportConfig

_logger = logging.getLogger("ragtel")

F = TypeVar("F", bound=Callable[..., Any])


class TracerRecipe(NamedTuple):
    """What a tracer was made from. Never holds the tracer, so a registry held
    weakly by tracer (``STATE.provider_recipes``) never holds its own key."""

    options: TracerOptions
    """The options of the call that made it."""
    requested: tuple[object, ...]
    """``options.requested()``: what later calls with the name are compared with."""
    defaults: EnvironmentDefaults


class RegisteredTracer(NamedTuple):
    """One entry of the tracer registry (``STATE.tracers``): a tracer and its recipe."""

    tracer: LastMileTracer
    recipe: TracerRecipe


def get_lastmile_tracer(
    tracer_name: str | None,
    *positional: Any,
    lastmile_api_token: str | None = None,
    project_name: str | None = None,
    initial_params: Mapping[str, Any] | None = None,
    output_filepath: str | os.PathLike[str] | None = None,
    rag_flow_type: RagFlowType | str | None = None,
    project_id: str | None = None,
    pipeline_type: RagFlowType | str | None = None,
    instrumenting_library_version: str | None = None,
    schema_url: str | None = None,
    attributes: types.Attributes = None,
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
    arguments are then ignored, with a warning if they differ), except that a
    call naming another ``tracer_provider`` gets a tracer of that provider.
    Creating a tracer does no network I/O and never changes ``os.environ``.

    The arguments after the name may be given by position in three orders,
    told apart by the type of the first of them:

    - LastMile's current one (the default): ``lastmile_api_token,
      project_name, initial_params, output_filepath, rag_flow_type``;
    - LastMile's older one, when a ``RagFlowType`` or ``"ingestion"`` /
      ``"query"`` comes first: ``pipeline_type, output_filepath, project_id,
      lastmile_api_token``;
    - OpenTelemetry's ``get_tracer`` one, when a version comes first (digits
      with at least one dot, as PEP 440 or SemVer write it, at most 40
      characters: never a token): ``instrumenting_library_version,
      tracer_provider, schema_url, attributes``.

    Any other argument is keyword-only; an argument given both ways is a
    TypeError.

    Args:
        tracer_name: The tracer's name, also its OTel instrumentation scope.
            An empty or ``None`` name logs an error once and gives a working
            tracer named ``""`` (OTel's rule: getting a tracer never throws);
            a name of another type is a TypeError.
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
        instrumenting_library_version: The instrumentation scope's version
            (OTel's ``get_tracer`` keyword).
        schema_url: The instrumentation scope's schema URL.
        attributes: The instrumentation scope's attributes.
        tracer_provider: Use this provider instead of the global one. A name
            already used with another provider gets a second tracer, bound to
            this one; without it, the name's first tracer is returned.
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
        library = get_lastmile_tracer(__name__, instrumenting_library_version="1.3b3")
    """
    name = tracer_name_of(tracer_name)
    if positional:
        bound = bind_positional(positional)
        lastmile_api_token = pick("lastmile_api_token", lastmile_api_token, bound)
        project_name = pick("project_name", project_name, bound)
        initial_params = pick("initial_params", initial_params, bound)
        output_filepath = pick("output_filepath", output_filepath, bound)
        rag_flow_type = pick("rag_flow_type", rag_flow_type, bound)
        project_id = pick("project_id", project_id, bound)
        pipeline_type = pick("pipeline_type", pipeline_type, bound)
        instrumenting_library_version = pick(
            "instrumenting_library_version", instrumenting_library_version, bound
        )
        tracer_provider = pick("tracer_provider", tracer_provider, bound)
        schema_url = pick("schema_url", schema_url, bound)
        attributes = pick("attributes", attributes, bound)
    check_arguments(lastmile_api_token, project_name, project_id, output_filepath)
    if (  # skipped for the common call, which gives none of them
        instrumenting_library_version is not None
        or schema_url is not None
        or attributes is not None
        or tracer_provider is not None
    ):
        check_scope(instrumenting_library_version, schema_url, attributes, tracer_provider)
    flow = flow_type(rag_flow_type, pipeline_type)
    exporter = exporter_names(exporter)
    params = initial_params_of(initial_params)
    options = TracerOptions(
        lastmile_api_token=lastmile_api_token,
        project_name=project_name,
        project_id=project_id,
        rag_flow_type=flow,
        initial_params=params,
        output_filepath=os.fspath(output_filepath) if output_filepath is not None else None,
        tracer_provider=tracer_provider,
        set_global=set_global,
        exporter=exporter,
        otlp_endpoint=otlp_endpoint,
        otlp_protocol=otlp_protocol,
        otlp_headers=otlp_headers,
        otlp_compression=otlp_compression,
        otlp_timeout=otlp_timeout,
        otlp_certificate=otlp_certificate,
        capture_content=capture_content,
        mask=mask,
        propagate_params=propagate_params,
        record_embeddings=record_embeddings,
        openinference=openinference,
        instrumenting_library_version=instrumenting_library_version,
        schema_url=schema_url,
        attributes=attributes,
    )
    tracer, created = _registered_tracer(name, options)
    if created:
        _enable_propagation(tracer, propagate_params)
    return tracer


def _tracers() -> dict[str, RegisteredTracer]:
    """``STATE.tracers``, typed: the state module sits below this one and cannot name
    ``RegisteredTracer``; this module alone writes it."""
    return cast("dict[str, RegisteredTracer]", STATE.tracers)


def _registered_tracer(tracer_name: str, options: TracerOptions) -> tuple[LastMileTracer, bool]:
    """The tracer of that name (on the provider asked for), and whether it is new.

    The name's first tracer is kept in ``STATE.tracers``; one for another
    explicit provider in ``STATE.tracers_by_provider``, weakly (see
    :func:`_provider_tracer`). One that was shut down is made again, from the
    first call's options.
    """
    with STATE.tracers_lock:
        entry = _tracers().get(tracer_name)
        if entry is None:
            entry = _new_entry(tracer_name, options)
            _tracers()[tracer_name] = entry
            return entry.tracer, True
        asked = options.tracer_provider
        if asked is not None and asked is not tracer_core(entry.tracer).provider:
            return _provider_tracer(tracer_name, options, asked)
        tracer = _reused(tracer_name, entry.tracer, entry.recipe, options)
        if tracer is not entry.tracer:
            _tracers()[tracer_name] = entry._replace(tracer=tracer)
        return tracer, False


def _new_entry(tracer_name: str, options: TracerOptions) -> RegisteredTracer:
    requested = options.requested()  # before anything is made: it may raise
    defaults = environment_defaults(options)
    tracer = _create_tracer(tracer_name, options, defaults)
    return RegisteredTracer(tracer, TracerRecipe(options, requested, defaults))


def _reused(
    tracer_name: str, tracer: LastMileTracer, recipe: TracerRecipe, options: TracerOptions
) -> LastMileTracer:
    """``tracer``, warning about ``options`` it ignores; made again if shut down."""
    ignored = options.ignored_arguments(recipe.requested)
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
    return _create_tracer(tracer_name, recipe.options, recipe.defaults)


def _provider_tracer(
    tracer_name: str, options: TracerOptions, provider: trace.TracerProvider
) -> tuple[LastMileTracer, bool]:
    """The tracer of that name bound to ``provider``, a provider other than the first's.

    Held weakly, by (name, provider identity): the entry lives as long as the
    app keeps its tracer (which keeps its provider, so the identity cannot be
    reused meanwhile), and nothing grows when apps make providers and drop
    them. A tracer the app dropped is simply made again on the next call.
    """
    key = (tracer_name, id(provider))
    tracers = _tracers_by_provider()
    recipes = _provider_recipes()
    tracer = tracers.get(key)
    recipe = recipes.get(tracer) if tracer is not None else None
    if tracer is None or recipe is None:
        entry = _new_entry(tracer_name, options)
        tracer, recipe, created = entry.tracer, entry.recipe, True
    else:
        tracer, created = _reused(tracer_name, tracer, recipe, options), False
    tracers[key] = tracer
    recipes[tracer] = recipe
    return tracer, created


def _tracers_by_provider() -> weakref.WeakValueDictionary[tuple[str, int], LastMileTracer]:
    """``STATE.tracers_by_provider``, typed (as :func:`_tracers`)."""
    return cast(
        "weakref.WeakValueDictionary[tuple[str, int], LastMileTracer]", STATE.tracers_by_provider
    )


def _provider_recipes() -> weakref.WeakKeyDictionary[LastMileTracer, TracerRecipe]:
    """``STATE.provider_recipes``, typed (as :func:`_tracers`)."""
    return cast("weakref.WeakKeyDictionary[LastMileTracer, TracerRecipe]", STATE.provider_recipes)


def _enable_propagation(tracer: LastMileTracer, propagate_params: bool | None) -> None:
    """Switch baggage propagation on for the process, when a new tracer asks for it."""
    if propagate_params is None:
        propagate_params = env_flag(env.RAGTEL_PROPAGATE_PARAMS, False)
    if propagate_params and not tracer_core(tracer).sdk_disabled:
        from ragtel._context import propagation  # loads the global propagators: only when asked

        propagation.enable(
            env_int(env.RAGTEL_PROPAGATION_MAX_BYTES, propagation.DEFAULT_MAX_BYTES, minimum=64)
        )


def instrumentation_tracer(
    scope_name: str, tracer_provider: trace.TracerProvider | None
) -> LastMileTracer:
    """A tracer for an instrumentor, configured from the environment only.

    Kept out of the one-tracer-per-name registry: each ``instrument()`` call
    may name another provider. With none, the global provider is used, and
    ragtel creates it (with exporters from the environment, or the default
    file) when the app has none.
    """
    options = TracerOptions(tracer_provider=tracer_provider)
    with STATE.tracers_lock:
        return _create_tracer(scope_name, options, environment_defaults(options))


def _create_tracer(
    tracer_name: str, options: TracerOptions, defaults: EnvironmentDefaults
) -> LastMileTracer:
    installation: _provider.Installation | None
    if sdk_disabled():
        # OTEL_SDK_DISABLED: as the SDK itself does, record and export nothing;
        # and start nothing either: no provider, thread, file, signal handler or
        # log line. Every helper of the tracer then returns at once.
        provider: trace.TracerProvider = trace.NoOpTracerProvider()
        installation = None
    else:
        provider, installation = _provider_and_installation(options, defaults)
    profile = _profile(tracer_name, options, defaults)
    if installation is not None:
        installation.processor.register_tracer(profile)
    return LastMileTracer(
        tracer_name,
        provider.get_tracer(
            profile.scope_name,
            _scope_text(options.instrumenting_library_version),
            _scope_text(options.schema_url),
            options.attributes,
        ),
        provider=provider,
        capture=defaults.capture,
        installation=installation,
        profile=profile,
    )


def _scope_text(value: str | None) -> str | None:
    # Exported with every span, as the scope's name is: escaped, never cut.
    return clean_text(value, sys.maxsize) if value is not None else None


def _profile(
    tracer_name: str, options: TracerOptions, defaults: EnvironmentDefaults
) -> TracerProfile:
    """What the tracer brings to every trace: root attributes and its default params."""
    # Recorded on every root: cleaned and capped as recorded text (a lone
    # surrogate would fail the export of every trace).
    max_length = defaults.capture.limits.max_length
    root_attributes: dict[str, AttributeValue] = {}
    if options.project_name:
        root_attributes[RAGTEL_PROJECT_NAME] = clean_text(options.project_name, max_length)
    if defaults.project_id:
        root_attributes[RAGTEL_PROJECT_ID] = clean_text(defaults.project_id, max_length)
    if options.rag_flow_type is not None:
        root_attributes[RAGTEL_RAG_FLOW_TYPE] = options.rag_flow_type.value
    # The instrumentation scope is exported with every span: its name must be
    # encodable (escaped, not cut: the processor finds the profile by it).
    return TracerProfile(
        clean_text(tracer_name, sys.maxsize),
        root_attributes=root_attributes,
        defaults=options.initial_params,
        capture=defaults.capture,
    )


def _provider_and_installation(
    options: TracerOptions, defaults: EnvironmentDefaults
) -> tuple[trace.TracerProvider, _provider.Installation | None]:
    """The provider a new tracer uses, with ragtel's processor and exporters added."""
    provider, must_create = _provider.resolve_provider(
        options.tracer_provider, set_global=options.set_global
    )
    # Validate the arguments and build the exporters before anything global changes.
    export = _export_config(options, defaults, reusing_provider=not must_create)
    if not must_create:
        return provider, _provider.install(provider, export, owned=False)
    exporters = _provider.build_missing(None, export)
    provider, owned = _provider.create_provider(set_global=options.set_global)
    installation = _provider.install(
        provider, export, owned=owned, prebuilt=exporters if owned else None
    )
    if not owned:
        for _, unused in exporters:
            unused.shutdown()
    return provider, installation


def _export_config(
    options: TracerOptions, defaults: EnvironmentDefaults, *, reusing_provider: bool
) -> ExportConfig:
    from ragtel._sdk.export_config import resolve_export  # exporters load on first use

    return resolve_export(
        exporter=options.exporter,
        output_filepath=options.output_filepath,
        otlp_endpoint=options.otlp_endpoint,
        otlp_protocol=options.otlp_protocol,
        otlp_headers=options.otlp_headers,
        otlp_compression=options.otlp_compression,
        otlp_timeout=options.otlp_timeout,
        otlp_certificate=options.otlp_certificate,
        api_token=options.lastmile_api_token,
        fallback_token=defaults.fallback_token,
        reusing_provider=reusing_provider,
    )


@overload
def traced(tracer: F, /) -> F: ...


@overload
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
) -> Callable[[F], F]: ...


def traced(
    tracer: trace.Tracer | F,
    name: str | None = None,
    *,
    context: ContextLike | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: types.Attributes = None,
    links: Sequence[Link] | None = None,
    record_exception: bool = True,
    set_status_on_exception: bool = True,
) -> F | Callable[[F], F]:
    """Decorate a function so each call is a span of ``tracer`` recording its input and output.

    ``tracer`` may be a :class:`LastMileTracer` (its capture settings apply)
    or any OpenTelemetry tracer. ``@traced`` without a tracer (and without
    parentheses) uses the global tracer provider's ``"ragtel"`` tracer (a
    provider installed after decoration, as ``get_lastmile_tracer`` installs
    one, is used too), with the default capture settings.

    Example::

        @traced(tracer)
        def rerank(query: str, chunks: list[str]) -> list[str]: ...
    """
    if _used_bare(tracer) and (
        name is None
        and context is None
        and kind is SpanKind.INTERNAL
        and attributes is None
        and links is None
        and record_exception is True
        and set_status_on_exception is True
    ):
        # ``@traced`` alone: the decorated function came in the tracer's place.
        return traced(trace.get_tracer("ragtel"))(tracer)
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
    capture = STATE.default_capture
    if capture is None:
        capture = STATE.default_capture = resolve_capture(None, None)
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


def _used_bare(tracer: object) -> TypeGuard[Callable[..., Any]]:
    """Whether ``traced`` got a function to decorate (``@traced``) where the tracer goes.

    A class is not taken for one: ``traced`` decorates functions and methods.
    """
    if isinstance(tracer, (classmethod, staticmethod)):
        return True
    return callable(tracer) and not isinstance(tracer, (trace.Tracer, type))
