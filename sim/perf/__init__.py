"""The arithmetic of a plan."""
