"""``ragtel report``."""
