"""ragtel's semantic convention: the attribute, event and span names it emits.

Every name here is declared in the registry under ``semconv/model`` of the
source tree, which is the single source of truth for its type and meaning.
"""
