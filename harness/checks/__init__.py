"""Checks: judge one HTTP exchange of a scenario step (see registry.py)."""
