"""Adapters between the core's small protocols and Discord (the only core-side code importing discord)."""
