"""The seeded synthetic ROR dataset the reference server is loaded with (see docs/dataset.md)."""
from harness.dataset.generator import SCALES, ScaleError, generate, resolve_scale, write_ndjson

__all__ = ["SCALES", "ScaleError", "generate", "resolve_scale", "write_ndjson"]
