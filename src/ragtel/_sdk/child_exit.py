"""A flush at the end of every multiprocessing child.

A child that multiprocessing starts with ``fork`` or ``forkserver`` ends
through ``os._exit`` once its target returns (a ``Process``, a ``Pool``
worker after ``close()``/``join()``, a ``ProcessPoolExecutor`` worker), so
``atexit`` hooks never run there and the spans it still queues would be
lost. multiprocessing runs hooks of its own on the way out, though: the
finalizers registered with an ``exitpriority`` (``util.Finalize``) run in
the child just before ``os._exit``. ragtel registers one that flushes its
exporters, bounded by the export timeout.

A forked child (``fork``, ``forkserver``) clears the finalizers it inherited
as it starts, then runs the after-fork hooks (``util.register_after_fork``);
a spawned child runs no such hooks but keeps the finalizers registered while
it imported the main module. So, once ragtel has exporters in a process that
has loaded multiprocessing, it registers both:

* the finalizer, in that process itself: a spawned child setting ragtel up as
  it imports the main module, or a target setting it up inside a running
  child (in a parent, it is one more flush at exit, with nothing left to send);
* an after-fork hook that registers the finalizer in each forked child (from
  a parent that forks, or the forkserver process, which imports the main
  module); a forked child also registers that hook from the OS-level fork
  hook when the app loaded multiprocessing only after setting ragtel up.

ragtel never imports multiprocessing itself: these hooks are only registered
when the app has loaded it. What is registered where is kept in
``ragtel._state.STATE`` (the ``exit_*`` fields).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, Final

from ragtel._state import STATE

_EXIT_PRIORITY: Final = 10
"""Runs before multiprocessing's own exit finalizers of lower priority (queues, pools)."""


class _Anchor:
    """What the after-fork hook is registered against: it lives as long as the process."""


_ANCHOR: Final = _Anchor()


def enable(flush: Callable[[], None], timeout_seconds: Callable[[], float]) -> None:
    """Flush with ``flush`` at the end of every multiprocessing child from now on.

    ``timeout_seconds`` bounds the wait; it is read at exit, so exporters
    added later count.
    """
    STATE.exit_flush, STATE.exit_flush_timeout = flush, timeout_seconds
    if not STATE.exit_hook_on_fork and hasattr(os, "register_at_fork"):
        # Not a lock to re-create (STATE does those): a hook for multiprocessing's own.
        os.register_at_fork(after_in_child=_after_os_fork)
        STATE.exit_hook_on_fork = True
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return  # not loaded (yet): the fork hook registers in children if it is later
    _register_hook(multiprocessing)
    _register_finalizer()


def _after_os_fork() -> None:
    # The child's bootstrap, which runs the after-fork hooks, has not run yet.
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None and STATE.exit_flush is not None:
        _register_hook(multiprocessing)


def _register_hook(multiprocessing: Any) -> None:
    if STATE.exit_hook_in_multiprocessing:
        return
    util = sys.modules.get("multiprocessing.util") or getattr(multiprocessing, "util", None)
    if util is None:
        return
    util.register_after_fork(_ANCHOR, _in_child)
    STATE.exit_hook_in_multiprocessing = True


def _in_child(_: object) -> None:
    # The child has just cleared the finalizers it inherited: register anew.
    _register_finalizer(again=True)


def _register_finalizer(*, again: bool = False) -> None:
    pid = os.getpid()
    util = sys.modules.get("multiprocessing.util")
    if util is None or (STATE.exit_finalizer_pid == pid and not again):
        return
    util.Finalize(None, _flush_at_exit, exitpriority=_EXIT_PRIORITY)
    STATE.exit_finalizer_pid = pid


def _flush_at_exit() -> None:
    flush, timeout_seconds = STATE.exit_flush, STATE.exit_flush_timeout
    if flush is None or timeout_seconds is None:
        return
    # On a thread of its own: a Pool's terminate() sends SIGTERM to workers that
    # may be exiting here already, and the SIGTERM flush must not wait on a lock
    # this thread holds.
    from ragtel._sdk.sigterm import flush_bounded

    flush_bounded(flush, timeout_seconds(), what="flush at the end of a multiprocessing child")
