"""Corpus, agreement check against Medplum and throughput benchmark (run from the repo root)."""
