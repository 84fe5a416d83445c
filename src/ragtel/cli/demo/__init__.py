"""``ragtel demo``."""
