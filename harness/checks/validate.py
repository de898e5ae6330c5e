"""The `validate` check: the profile validator of harness.fhir.validation, applied to a response.

Errors fail the step; a binding the validator could not judge (terminology server down: issue
code "exception") makes it inconclusive, because that is the harness's infrastructure failing,
not the candidate. Warnings and information never fail.
"""
from __future__ import annotations

from typing import Any

from harness.checks.context import Finding, StepContext
from harness.checks.registry import register
from harness.fhir.packages import PackageError

#: Issues kept in one failure (a broken server can produce thousands; the count is reported).
MAX_ISSUES = 50


def issue_dict(issue: Any) -> dict:
    return {"severity": issue.severity, "id": issue.message_id, "expression": issue.expression,
            "message": issue.message, "message_fr": issue.message_fr}


def _targets(body: dict, profile: str | None) -> list[dict]:
    """What to validate: the body, or with an explicit profile on a Bundle, each match entry."""
    if profile and body["resourceType"] == "Bundle":
        return [e["resource"] for e in body.get("entry") or ()
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                and (e.get("search") or {}).get("mode", "match") == "match"]
    return [body]


@register("validate")
def check_validate(ctx: StepContext, params: Any) -> list[Finding]:
    """The body conforms to the ROR profiles and NOS value sets (a Bundle: with all its entries).

    Profiles: `profile` if given (applied to each match of a Bundle), else each resource's
    meta.profile, else the IG profile of its type, as `ror-harness validate` does.
    """
    body, findings = ctx.body_or_finding("validate")
    if body is None:
        return findings
    profile = params.get("profile") if isinstance(params, dict) else None
    validator = ctx.services.validator()
    errors, unjudged = [], []
    try:
        for resource in _targets(body, profile):
            result = validator.validate(resource, profile, origin=ctx.step)
            errors += [i for i in result.sorted_issues() if i.is_error]
            unjudged += [i for i in result.issues if i.code == "exception"]
    except PackageError as exc:
        return [Finding("validate", f"profil {profile}", str(exc), f"profil inutilisable par le banc : {exc}",
                        inconclusive=True)]
    if errors:
        shown = tuple(issue_dict(i) for i in errors[:MAX_ISSUES])
        first = errors[0]
        more = f" (et {len(errors) - 1} autre(s))" if len(errors) > 1 else ""
        return [Finding("validate", "aucune erreur de validation", f"{len(errors)} erreur(s)",
                        f"{first.expression} : {first.message_fr}{more}", issues=shown)]
    if unjudged:
        return [Finding("validate", "nomenclatures vérifiées", f"{len(unjudged)} liaison(s) non jugée(s)",
                        f"validation non concluante : {unjudged[0].message_fr}",
                        issues=tuple(issue_dict(i) for i in unjudged[:MAX_ISSUES]), inconclusive=True)]
    return []
