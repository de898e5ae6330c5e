"""Root conftest: keeps pytest's collection to the harness's own test folders.

The scenario plugin (scenario engine issue) registers itself through the `pytest11` entry
point, not from here, so that `pytest --ror-target ...` works from any checkout.
"""
collect_ignore_glob = ["fixtures/*", "reports/*", "benchmarks/*", "node_modules/*"]
