"""Validation issues and their OperationOutcome form.

Each issue carries a stable message id (for filters, tests and the agreement table), an English
technical message, a French explanation for PLATINES users, and the FHIRPath location of the
offending element, so that a report can point at it without a Python traceback.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SEVERITY_ORDER = {"fatal": 0, "error": 1, "warning": 2, "information": 3}
MESSAGE_SYSTEM = "https://ror-harness.org/fhir/CodeSystem/validation-message"


@dataclass(frozen=True)
class Issue:
    """One finding about one element of one resource."""

    severity: str  # fatal | error | warning | information
    code: str  # FHIR issue-type: structure, required, value, invariant, code-invalid, not-supported, ...
    message_id: str  # stable id, e.g. "cardinality-min"
    message: str  # technical English text
    message_fr: str  # explanation in French for the report
    expression: str  # FHIRPath location, e.g. "Location.extension[2].value"
    source: str | None = None  # what decided: profile/element id, value set file and version

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")

    def to_fhir(self) -> dict:
        out = {
            "severity": self.severity,
            "code": self.code,
            "details": {
                "coding": [{"system": MESSAGE_SYSTEM, "code": self.message_id}],
                "text": self.message_fr,
            },
            "diagnostics": self.message + (f" [{self.source}]" if self.source else ""),
            "expression": [self.expression],
        }
        return out


@dataclass
class ValidationResult:
    """The verdict on one resource (a Bundle counts as one, its entries' issues included)."""

    resource_type: str | None
    resource_id: str | None
    profiles: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    origin: str | None = None  # file name, file:line for NDJSON, or a scenario step

    @property
    def ok(self) -> bool:
        return not any(i.is_error for i in self.issues)

    def count(self, severity: str) -> int:
        return sum(1 for i in self.issues if i.severity == severity)

    def sorted_issues(self) -> list[Issue]:
        return sorted(self.issues, key=lambda i: (SEVERITY_ORDER.get(i.severity, 9), i.expression))

    def to_operation_outcome(self) -> dict:
        issues = [i.to_fhir() for i in self.sorted_issues()]
        if not issues:
            issues = [{"severity": "information", "code": "informational",
                       "details": {"text": "Aucun problème détecté"},
                       "diagnostics": "No issues detected", "expression": [self.resource_type or "Resource"]}]
        return {"resourceType": "OperationOutcome", "issue": issues}
