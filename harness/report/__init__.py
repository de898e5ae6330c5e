"""Reporters: one handler per output format, fed by the engine's event stream."""
