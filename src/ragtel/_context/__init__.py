"""Trace context hand-over: ids, serialized contexts, carriers and propagation."""
