"""Wrapping a method on a base class and every subclass: those that exist and those to come.

LangChain's embeddings and text splitters are abstract bases whose methods
each integration overrides (``OpenAIEmbeddings.embed_documents``...), and they
report nothing through callbacks. So the overriding methods themselves are
wrapped: on every subclass found at instrument time, and on every subclass
defined later, through a ``__init_subclass__`` hook on the base. All of it
goes through :class:`Patches`, so ``uninstrument()`` takes every wrapper off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from ragtel.instrumentation._base import Patches, Wrapper

_logger = logging.getLogger("ragtel")


def wrap_hierarchy(base: type, wrappers: Mapping[str, Wrapper], patches: Patches) -> None:
    """Wrap each named method wherever ``base`` or a subclass defines it, now and later.

    Abstract methods are left alone: they are never called, the overrides are.
    """

    def wrap_class(cls: type) -> None:
        for name, wrapper in wrappers.items():
            method = cls.__dict__.get(name)
            if method is None or getattr(method, "__isabstractmethod__", False):
                continue
            patches.wrap(cls, name, wrapper)

    for cls in _with_subclasses(base):
        wrap_class(cls)
    _hook_subclass_creation(base, wrap_class, patches)


def _with_subclasses(base: type) -> Iterator[type]:
    """``base`` and all its subclasses, each once (diamonds are common with mixins)."""
    seen: set[type] = set()
    pending = [base]
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        pending.extend(cls.__subclasses__())


def _hook_subclass_creation(base: type, wrap_class: Any, patches: Patches) -> None:
    original = base.__dict__.get("__init_subclass__")

    def init_subclass(cls: type, /, **kwargs: Any) -> None:
        if original is not None:
            original.__get__(None, cls)(**kwargs)
        else:
            super(base, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type]
        if not patches.active:
            return
        try:
            wrap_class(cls)
        except Exception:
            _logger.warning("ragtel: could not instrument %s", cls.__qualname__, exc_info=True)

    patches.replace(base, "__init_subclass__", classmethod(init_subclass))
