"""ror-harness: an open conformance test harness for the French ROR FHIR API."""

__version__ = "0.1.0"
