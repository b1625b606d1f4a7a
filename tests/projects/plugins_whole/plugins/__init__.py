"""Plugins, each with apply(value)."""
NAMES = ("alpha", "beta")
