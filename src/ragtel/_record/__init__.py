"""Recorders: what each public tracer call records, on which span."""
