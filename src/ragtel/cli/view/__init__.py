"""``ragtel view``."""
