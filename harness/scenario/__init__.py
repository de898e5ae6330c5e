"""The scenario language: YAML files validated by a published JSON Schema, loaded with their
line numbers into frozen model objects (docs/scenario-language.md)."""
from harness.scenario.errors import FileError, Problem
from harness.scenario.loader import load
from harness.scenario.model import Check, Proof, Request, Requires, Save, Scenario, Step

__all__ = ["Check", "FileError", "Problem", "Proof", "Request", "Requires", "Save", "Scenario", "Step", "load"]
