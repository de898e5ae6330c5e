"""Checks on the resource in the body: its type and FHIRPath assertions."""
from __future__ import annotations

from typing import Any

from harness.checks.context import Finding, StepContext
from harness.checks.registry import register
from harness.fhir.fhirpath import NotEvaluable, default_engine


@register("resource_type")
def check_resource_type(ctx: StepContext, params: Any) -> list[Finding]:
    """The body is a FHIR resource of this type (e.g. Bundle, CapabilityStatement, OperationOutcome).

    The IG answers every failure with an OperationOutcome: `resource_type: OperationOutcome`
    on an error step checks exactly that.
    """
    body, findings = ctx.body_or_finding("resource_type")
    if body is None:
        return findings
    if body["resourceType"] != params:
        return [Finding("resource_type", params, body["resourceType"],
                        f"la réponse est une ressource {body['resourceType']} au lieu de {params}")]
    return []


def _shown(values: list) -> str:
    text = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:5])
    return f"[{text}{', …' if len(values) > 5 else ''}]"


def _holds(values: list, rule: dict) -> bool:
    if "equals" in rule:
        wanted = rule["equals"] if isinstance(rule["equals"], list) else [rule["equals"]]
        return [str(v) for v in values] == [str(w) for w in wanted]
    return len(values) == 1 and (values[0] is True or not isinstance(values[0], bool))


@register("fhirpath")
def check_fhirpath(ctx: StepContext, params: Any) -> list[Finding]:
    """Each FHIRPath expression, evaluated on the body, is true (or equals `equals`).

    "True" as for FHIR invariants: one item that is `true` (or any single non-boolean value);
    empty and `false` fail. An expression the engine cannot evaluate makes the step
    inconclusive, never passed.
    """
    body, findings = ctx.body_or_finding("fhirpath")
    if body is None:
        return findings
    engine = default_engine()
    for rule in params:
        expr = rule["expr"]
        try:
            values = engine.evaluate(expr, body)
        except NotEvaluable as exc:
            findings.append(Finding("fhirpath", expr, exc.reason, f"expression FHIRPath non évaluable par le banc : {exc.reason}",
                                    inconclusive=True))
            continue
        if not _holds(values, rule):
            expected = f"{expr} = {rule['equals']!r}" if "equals" in rule else f"{expr} vrai"
            findings.append(Finding("fhirpath", expected, _shown(values),
                                    rule.get("message") or f"l'assertion FHIRPath « {expr} » n'est pas vérifiée"))
    return findings
