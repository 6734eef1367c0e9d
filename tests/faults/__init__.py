"""Fault tests: crashes, downtime, gateway drops, Discord errors, a second instance, concurrency."""
