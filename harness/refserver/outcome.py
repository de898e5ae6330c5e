"""Errors of the reference server, always carried to the client as an OperationOutcome.

Every failure path raises FhirError with the HTTP status and the FHIR issue code it means; the
app turns it into one response shape. Centralising it is what guarantees "never a traceback,
always an OperationOutcome" (IG §1.3 "Réponse de base – Echec").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence


class FhirError(Exception):
    """A request that cannot be served: status, issue code, diagnostics, optional expressions."""

    def __init__(self, status: int, code: str, diagnostics: str, *,
                 expression: Sequence[str] | None = None, headers: Mapping[str, str] | None = None,
                 issues: list[dict] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = list(expression) if expression else None
        self.headers = dict(headers or {})
        self.extra_issues = issues or []

    def outcome(self) -> dict:
        issue: dict = {"severity": "error", "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = self.expression
        return operation_outcome([issue, *self.extra_issues])


def operation_outcome(issues: list[dict]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": issues}


def issue(severity: str, code: str, diagnostics: str, expression: Sequence[str] | None = None) -> dict:
    found: dict = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        found["expression"] = list(expression)
    return found
