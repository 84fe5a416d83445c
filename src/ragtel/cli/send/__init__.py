"""``ragtel send``."""
