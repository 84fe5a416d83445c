"""A flush on SIGTERM, chained to the handler it replaces.

SIGTERM is how containers, systemd and most process managers stop a service,
and Python's default action for it ends the process at once: no ``atexit``
hooks run, so spans still queued would be lost. Once ragtel has exporters, it
installs a handler (once per process, from the main thread) that flushes them,
bounded by the export timeout, and then does what the replaced handler would
have done:

* the default action: it is restored and the signal raised again, so the
  process still ends killed by SIGTERM, with the exit status that implies;
* a Python handler (the app's, a server's): it is called with the same
  arguments;
* an ignored signal, or a handler installed outside Python: ragtel installs
  nothing and leaves the signal alone.

A handler installed after ragtel's replaces it, as any later handler would;
``RAGTEL_FLUSH_ON_SIGTERM=false`` keeps ragtel from installing one at all.
What was decided, and the handler ragtel's replaced, are kept in
``ragtel._state.STATE`` (``ragtel.testing.reset()`` puts that handler back).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from ragtel import _environment as env
from ragtel._config import env_flag
from ragtel._state import STATE

_logger = logging.getLogger("ragtel")


def install_once(flush: Callable[[], None], timeout_seconds: Callable[[], float]) -> None:
    """Install the flushing handler, unless it is installed, disabled or not ours to install.

    ``timeout_seconds`` is read when the signal arrives, so exporters added
    later count.
    """
    if STATE.sigterm_settled or os.name != "posix":
        return
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers; a later tracer may
    if not env_flag(env.RAGTEL_FLUSH_ON_SIGTERM, True):
        STATE.sigterm_settled = True
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None or previous == signal.SIG_IGN:
        STATE.sigterm_settled = True
        return

    def flush_then_chain(signum: int, frame: FrameType | None) -> None:
        flush_bounded(flush, timeout_seconds(), what="SIGTERM flush")
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    try:
        signal.signal(signal.SIGTERM, flush_then_chain)
    except (ValueError, OSError):  # not the main interpreter
        return
    STATE.sigterm_settled = True
    STATE.sigterm_handler, STATE.replaced_sigterm_handler = flush_then_chain, previous


def flush_bounded(flush: Callable[[], None], timeout: float, *, what: str) -> None:
    """Run ``flush`` on a thread of its own and wait for it at most ``timeout`` seconds.

    The calling thread may hold a lock the flush needs (a signal handler
    interrupts whatever the main thread was doing), and while it waits here
    it holds none of ragtel's, so a handler interrupting this wait can flush
    too: the wait stays bounded by the timeout instead of hanging.
    """
    worker = threading.Thread(target=_flush_logging_errors, args=(flush, what), daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _logger.warning("ragtel: %s did not finish within %.1f s", what, timeout)


def _flush_logging_errors(flush: Callable[[], None], what: str) -> None:
    try:
        flush()
    except Exception:  # the app's own shutdown must go on
        _logger.exception("ragtel: %s failed", what)
