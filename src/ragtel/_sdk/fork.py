"""Re-creating locks in a child process after ``fork()``.

A lock held by another thread at the moment of ``fork()`` stays held forever
in the child, where that thread does not exist: the child's next span or its
exit would hang. Every lock ragtel keeps is re-created in the child.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any


def reinit_in_child(callback: Callable[[], Any]) -> None:
    """Call ``callback`` in the child after every ``fork()``.

    A bound method is held weakly, so registering does not keep its object alive.
    """
    if not hasattr(os, "register_at_fork"):
        return
    if hasattr(callback, "__self__"):
        weak = weakref.WeakMethod(callback)

        def call_if_alive() -> None:
            method = weak()
            if method is not None:
                method()

        os.register_at_fork(after_in_child=call_if_alive)
    else:
        os.register_at_fork(after_in_child=callback)
