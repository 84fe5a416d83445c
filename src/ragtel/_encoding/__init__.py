"""Turning any Python value into safe, bounded, redacted OTel attribute values."""
