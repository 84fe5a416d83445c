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
when the app has loaded it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, Final

_EXIT_PRIORITY: Final = 10
"""Runs before multiprocessing's own exit finalizers of lower priority (queues, pools)."""


class _Anchor:
    """What the after-fork hook is registered against: it lives as long as the process."""


_ANCHOR: Final = _Anchor()

_flush: Callable[[], None] | None = None
_timeout_seconds: Callable[[], float] | None = None
_hook_registered = False
"""The after-fork hook is in this process's multiprocessing registry (children inherit it)."""
_finalizer_pid: int | None = None
"""The process whose multiprocessing finalizers hold ragtel's flush."""
_fork_hook_installed = False


def enable(flush: Callable[[], None], timeout_seconds: Callable[[], float]) -> None:
    """Flush with ``flush`` at the end of every multiprocessing child from now on.

    ``timeout_seconds`` bounds the wait; it is read at exit, so exporters
    added later count.
    """
    global _flush, _timeout_seconds, _fork_hook_installed
    _flush, _timeout_seconds = flush, timeout_seconds
    if not _fork_hook_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_os_fork)
        _fork_hook_installed = True
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return  # not loaded (yet): the fork hook registers in children if it is later
    _register_hook(multiprocessing)
    _register_finalizer()


def _after_os_fork() -> None:
    # The child's bootstrap, which runs the after-fork hooks, has not run yet.
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None and _flush is not None:
        _register_hook(multiprocessing)


def _register_hook(multiprocessing: Any) -> None:
    global _hook_registered
    if _hook_registered:
        return
    util = sys.modules.get("multiprocessing.util") or getattr(multiprocessing, "util", None)
    if util is None:
        return
    util.register_after_fork(_ANCHOR, _in_child)
    _hook_registered = True


def _in_child(_: object) -> None:
    # The child has just cleared the finalizers it inherited: register anew.
    _register_finalizer(again=True)


def _register_finalizer(*, again: bool = False) -> None:
    global _finalizer_pid
    pid = os.getpid()
    util = sys.modules.get("multiprocessing.util")
    if util is None or (_finalizer_pid == pid and not again):
        return
    util.Finalize(None, _flush_at_exit, exitpriority=_EXIT_PRIORITY)
    _finalizer_pid = pid


def _flush_at_exit() -> None:
    flush, timeout_seconds = _flush, _timeout_seconds
    if flush is None or timeout_seconds is None:
        return
    # On a thread of its own: a Pool's terminate() sends SIGTERM to workers that
    # may be exiting here already, and the SIGTERM flush must not wait on a lock
    # this thread holds.
    from ragtel._sdk.sigterm import flush_bounded

    flush_bounded(flush, timeout_seconds(), what="flush at the end of a multiprocessing child")
