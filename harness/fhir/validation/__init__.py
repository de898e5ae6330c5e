"""Profile and nomenclature validation: `Validator(ig).validate(resource) -> ValidationResult`."""
from harness.fhir.validation.outcome import Issue, ValidationResult
from harness.fhir.validation.validator import Validator

__all__ = ["Issue", "ValidationResult", "Validator"]
