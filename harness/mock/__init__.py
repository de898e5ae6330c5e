"""Consumer mode: the reference server's engine as a recording mock (docs/consumer-mode.md)."""
