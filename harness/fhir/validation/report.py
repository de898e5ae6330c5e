"""Render validation results for the `validate` command: text, JSON or FHIR OperationOutcome."""
from __future__ import annotations

import json

from harness.fhir.validation.outcome import ValidationResult


def _text(results: list[ValidationResult]) -> str:
    lines = []
    for r in results:
        errors, warnings = r.count("error") + r.count("fatal"), r.count("warning")
        verdict = "OK" if r.ok else "ERREURS"
        lines.append(f"{r.origin}  {r.resource_type}/{r.resource_id}  {verdict} "
                     f"({errors} error(s), {warnings} warning(s))  profiles: {', '.join(r.profiles) or '-'}")
        for i in r.sorted_issues():
            lines.append(f"  {i.severity.upper():<11} {i.expression}  [{i.message_id}] {i.message}")
            lines.append(f"  {'':<11} {i.message_fr}" + (f"  ({i.source})" if i.source else ""))
    total = sum(1 for r in results if not r.ok)
    lines.append(f"{len(results)} resource(s) validated, {total} with errors")
    return "\n".join(lines) + "\n"


def _json(results: list[ValidationResult]) -> str:
    payload = [{
        "origin": r.origin, "resourceType": r.resource_type, "id": r.resource_id, "profiles": r.profiles,
        "ok": r.ok,
        "issues": [{"severity": i.severity, "code": i.code, "id": i.message_id, "expression": i.expression,
                    "message": i.message, "message_fr": i.message_fr, "source": i.source}
                   for i in r.sorted_issues()],
    } for r in results]
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def _outcome(results: list[ValidationResult]) -> str:
    if len(results) == 1:
        return json.dumps(results[0].to_operation_outcome(), ensure_ascii=False, indent=2) + "\n"
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r.to_operation_outcome()} for r in results]}
    return json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"


def render(results: list[ValidationResult], fmt: str) -> str:
    return {"text": _text, "json": _json, "outcome": _outcome}[fmt](results)
