"""The pytest plugin that runs ROR scenarios (entry point `ror-harness`, module plugin.py)."""
