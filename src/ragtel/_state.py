"""ragtel's process-wide state: every mutable thing ragtel keeps for the whole process.

Why process-wide at all: what ragtel attaches to is process-wide itself. The
global tracer provider, the global propagators, the SIGTERM handler, the
loggers and ``fork()`` belong to the process, so the record of what ragtel
added to them does too, and ``get_lastmile_tracer`` promises one tracer per
name in a process.

The rules:

* :data:`STATE` is the only mutable module-level object in the package.
  Other modules keep constants, and memo caches that are bounded and
  documented where they are (a memo can be dropped at any time without
  changing behaviour; state cannot).
* Each field below says what it holds, which module writes it, and which
  lock guards it. A module touches only its own fields.
* After ``fork()``, the child re-creates every lock here, and calls
  ``reinit_after_fork()`` on each object registered with
  :meth:`ProcessState.reinit_in_child` (a lock a parent thread held at the
  fork would stay held in the child forever). One ``os.register_at_fork``
  hook does it all.
* :meth:`ProcessState.reset` forgets it all and undoes what ragtel changed in
  the process; ``ragtel.testing.reset`` is its public face, for test suites.

Importing this module is cheap: the standard library only, and the types of
the fields under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from opentelemetry.propagators.textmap import TextMapPropagator
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from ragtel._config import CaptureConfig


class ForkAware(Protocol):
    """An object holding locks or threads that a forked child must not inherit."""

    def reinit_after_fork(self) -> None:
        """Re-create them; called in the child, right after ``fork()``."""


class StoppableInstallation(Protocol):
    """What :meth:`ProcessState.reset` needs of what ragtel added to a provider."""

    def shutdown_exporters(self) -> None:
        """Flush and stop the exporters ragtel added."""


class ProcessState:
    """Everything ragtel keeps for the whole process, field by field."""

    __slots__ = (
        "_fork_aware",
        "checked_scope",
        "default_capture",
        "exit_finalizer_pid",
        "exit_flush",
        "exit_flush_timeout",
        "exit_hook_in_multiprocessing",
        "exit_hook_on_fork",
        "filtered_loggers",
        "installations",
        "log_files",
        "log_files_lock",
        "private_provider",
        "processors",
        "processors_lock",
        "propagation_lock",
        "propagator",
        "provider_recipes",
        "providers_lock",
        "replaced_propagator",
        "replaced_sigterm_handler",
        "secrets",
        "secrets_lock",
        "sigterm_handler",
        "sigterm_settled",
        "tracers",
        "tracers_by_provider",
        "tracers_lock",
        "warned",
        "warnings_lock",
    )

    def __init__(self) -> None:
        self._create_locks()
        self._fork_aware: weakref.WeakSet[ForkAware] = weakref.WeakSet()
        self._init_registries()
        self._init_process_changes()
        self._init_logs()
        self.checked_scope: InstrumentationScope | None = None
        """A memo: the last instrumentation scope the export thread found encodable
        (ragtel._sdk.span_prepare). A tracer's spans share one: checked once in a row."""

    def _init_registries(self) -> None:
        # Tracers (ragtel._factory) ------------------------------------------
        self.tracers: dict[str, object] = {}
        """Each tracer ``get_lastmile_tracer`` made, by name, with the options it was made
        from: one tracer per name is the function's promise. Guarded by ``tracers_lock``.
        Its entries are ``ragtel._factory.RegisteredTracer``s, typed there: this module sits
        below the layers it serves and imports none of them."""
        self.tracers_by_provider: weakref.WeakValueDictionary[tuple[str, int], Any] = (
            weakref.WeakValueDictionary()
        )
        """A name's tracer for a provider other than its first tracer's, by (name, provider
        identity). Weak: kept while the app keeps the tracer, which keeps the provider (so
        the identity stays its own). Guarded by ``tracers_lock``."""
        self.provider_recipes: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        """What each tracer of ``tracers_by_provider`` was made from (``ragtel._factory.
        TracerRecipe``, which never holds the tracer), weakly by tracer."""
        self.default_capture: CaptureConfig | None = None
        """What ``traced()`` captures on a plain OpenTelemetry tracer, read from the
        environment at its first use (a ragtel tracer brings its own)."""

        # Providers (ragtel._sdk.provider, ragtel._sdk.processor) -------------
        self.installations: weakref.WeakKeyDictionary[SdkTracerProvider, StoppableInstallation] = (
            weakref.WeakKeyDictionary()
        )
        """What ragtel added to each SDK provider (its processor, its exporters): added once
        per provider however many tracers use it. Weak: a provider the app drops is
        forgotten. Guarded by ``providers_lock``. Its values are ``ragtel._sdk.provider``'s
        ``Installation``s, typed there."""
        self.private_provider: SdkTracerProvider | None = None
        """The provider ragtel created with ``set_global=False``: later tracers share it
        rather than each creating one. Guarded by ``providers_lock``."""
        self.processors: tuple[weakref.ref[object], ...] = ()
        """Every live ragtel span processor, weakly: a span id alone (feedback, baggage,
        instrumentation) finds its trace's state through them. Replaced, never mutated, so
        lookups iterate it without a lock; ``processors_lock`` serializes the writers. Its
        items are ``ragtel._sdk.processor.RagtelSpanProcessor``s, typed there."""

    def _init_process_changes(self) -> None:
        # Global propagators and signal handlers ------------------------------
        self.propagator: TextMapPropagator | None = None
        """ragtel's baggage propagator once ``propagate_params`` switched it on
        (ragtel._context.propagation). Guarded by ``propagation_lock``."""
        self.replaced_propagator: TextMapPropagator | None = None
        """The global propagator ragtel's joined, put back by :meth:`reset`."""
        self.sigterm_settled = False
        """ragtel's SIGTERM flush is installed, or was found not to be ragtel's to install
        (ragtel._sdk.sigterm): decided once per process."""
        self.sigterm_handler: Callable[..., Any] | None = None
        """ragtel's SIGTERM handler, when it installed one."""
        self.replaced_sigterm_handler: Any = None
        """The handler ragtel's replaced (it chains to it), put back by :meth:`reset`."""

        # Flush at the end of a multiprocessing child (ragtel._sdk.child_exit) -
        self.exit_flush: Callable[[], None] | None = None
        """What a multiprocessing child runs on its way out: flush ragtel's exporters."""
        self.exit_flush_timeout: Callable[[], float] | None = None
        """How long that flush may take, in seconds (read at exit)."""
        self.exit_hook_on_fork = False
        """The OS-level fork hook that carries the flush into forked children is registered."""
        self.exit_hook_in_multiprocessing = False
        """multiprocessing's after-fork registry holds ragtel's hook (children inherit it)."""
        self.exit_finalizer_pid: int | None = None
        """The process whose multiprocessing finalizers hold the flush."""

    def _init_logs(self) -> None:
        self.secrets: tuple[str, ...] = ()
        """Every credential ragtel handed to an exporter, longest first: no log line may
        show one (ragtel._sdk.log_hygiene). Kept by :meth:`reset`: a credential once seen
        stays hidden. Replaced, never mutated, so log filters read it without a lock;
        ``secrets_lock`` serializes the writers."""
        self.filtered_loggers: set[str] = set()
        """Loggers that already carry the filter hiding those credentials (a logger's filters
        outlive any reset, so this is kept too). Guarded by ``secrets_lock``."""
        self.log_files: OrderedDict[str, LoggerProvider] = OrderedDict()
        """The files ``log(logger=<path>)`` writes to, open, least recently used first
        (ragtel._sdk.log_pipeline). Guarded by ``log_files_lock``."""
        self.warned: set[Hashable] = set()
        """What was already warned about once per process, so the log says it once, not per
        call: a capped collection (ragtel._encoding.arguments), a refused header
        (ragtel._sdk.otlp_headers), the ``repr`` budget (ragtel._encoding.safe_repr), records
        with nowhere to go (ragtel._sdk.log_pipeline). Guarded by ``warnings_lock``; written
        through :meth:`first_time`."""

    def _create_locks(self) -> None:
        self.tracers_lock = threading.Lock()
        """Guards ``tracers`` and ``default_capture``; taken before ``providers_lock``."""
        self.providers_lock = threading.RLock()
        """Guards ``installations``, ``private_provider`` and each installation's exporters."""
        self.processors_lock = threading.Lock()
        """Serializes the writers of ``processors``."""
        self.propagation_lock = threading.Lock()
        """Guards ``propagator`` and ``replaced_propagator``."""
        self.secrets_lock = threading.Lock()
        """Serializes the writers of ``secrets`` and guards ``filtered_loggers``."""
        self.log_files_lock = threading.Lock()
        """Guards ``log_files``."""
        self.warnings_lock = threading.Lock()
        """Guards ``warned``."""

    def first_time(self, key: Hashable) -> bool:
        """True the first time ``key`` is seen in this process: warn once per cause."""
        with self.warnings_lock:
            if key in self.warned:
                return False
            self.warned.add(key)
            return True

    def reinit_in_child(self, owner: ForkAware) -> None:
        """Call ``owner.reinit_after_fork()`` in the child after every ``fork()``.

        ``owner`` is held weakly: registering it does not keep it alive.
        """
        self._fork_aware.add(owner)

    def after_fork_in_child(self) -> None:
        """Re-create every lock here, then those of the registered objects."""
        self._create_locks()
        for owner in list(self._fork_aware):
            try:
                owner.reinit_after_fork()
            except Exception:  # noqa: BLE001 - one failure must not leave the others' locks held
                import traceback

                traceback.print_exc()

    def reset(self) -> None:
        """Forget every tracer and installation, and undo what ragtel changed in the process.

        ragtel's exporters are shut down, the global propagator and the SIGTERM
        handler ragtel replaced are put back, files given to ``log(logger=)``
        are closed, and every warning may be given again. Kept: the
        credentials hidden from logs, and the hooks multiprocessing and the
        interpreter cannot forget (they do nothing once this state is empty).
        """
        with self.tracers_lock:
            self.tracers.clear()
            self.tracers_by_provider.clear()
            self.provider_recipes.clear()
            self.default_capture = None
        with self.providers_lock:
            for installation in list(self.installations.values()):
                installation.shutdown_exporters()
            self.installations.clear()
            self.private_provider = None
        with self.processors_lock:
            self.processors = ()
        self._restore_propagator()
        self._restore_sigterm_handler()
        with self.log_files_lock:
            log_files = list(self.log_files.values())
            self.log_files.clear()
        for provider in log_files:
            provider.shutdown()
        with self.warnings_lock:
            self.warned.clear()
        self.checked_scope = None

    def _restore_propagator(self) -> None:
        with self.propagation_lock:
            replaced = self.replaced_propagator
            self.replaced_propagator = self.propagator = None
        if replaced is not None:
            from opentelemetry import propagate  # loaded already: ragtel replaced it

            propagate.set_global_textmap(replaced)

    def _restore_sigterm_handler(self) -> None:
        handler, self.sigterm_handler = self.sigterm_handler, None
        replaced, self.replaced_sigterm_handler = self.replaced_sigterm_handler, None
        self.sigterm_settled = False
        if handler is None:
            return
        import signal

        # Only while ragtel's is still the handler: one installed since is not ragtel's to undo.
        if signal.getsignal(signal.SIGTERM) is handler:
            with contextlib.suppress(ValueError, OSError):  # not the main thread or interpreter
                signal.signal(signal.SIGTERM, replaced)


STATE: Final = ProcessState()
"""The one instance: import it, never copy its fields (they are replaced, not only mutated)."""

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=STATE.after_fork_in_child)
