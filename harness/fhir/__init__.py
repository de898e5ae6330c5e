"""FHIR knowledge of the harness: packages, snapshots, FHIRPath, terminology, validation.

Nothing in here knows about pytest or HTTP: the validator is usable from the CLI, the scenario
engine and plain Python alike.
"""
