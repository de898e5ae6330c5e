"""Checks on a Bundle page as such: type, total, number of entries, links, fullUrls.

These read the one page of the step; what spans pages (paging, duplicates, totals against the
matches really returned) is the `search` check.
"""
from __future__ import annotations

from typing import Any

from harness.checks.context import Finding, StepContext
from harness.checks.registry import register


def in_range(value: int, rule: Any) -> bool:
    """`rule` is an exact count or {min, max}."""
    if isinstance(rule, dict):
        return rule.get("min", value) <= value <= rule.get("max", value)
    return value == rule


def shown_range(rule: Any) -> str:
    if not isinstance(rule, dict):
        return str(rule)
    if "min" in rule and "max" in rule:
        return f"entre {rule['min']} et {rule['max']}"
    return f"au moins {rule['min']}" if "min" in rule else f"au plus {rule['max']}"


@register("bundle")
def check_bundle(ctx: StepContext, params: Any) -> list[Finding]:
    """The body is a Bundle with the given type, total, number of entries, link relations and fullUrls.

    `total: present` encodes the IG rule "le service indique le total trouvé dans une balise
    total; s'il n'y a pas de résultat, total: 0".
    """
    body, findings = ctx.body_or_finding("bundle")
    if body is None:
        return findings
    if body["resourceType"] != "Bundle":
        return [Finding("bundle", "un Bundle", body["resourceType"], f"la réponse est un {body['resourceType']}, pas un Bundle")]
    if "type" in params and body.get("type") != params["type"]:
        findings.append(Finding("bundle.type", params["type"], str(body.get("type")),
                                f"le Bundle est de type « {body.get('type')} » au lieu de « {params['type']} »"))
    if "total" in params:
        total = body.get("total")
        rule = params["total"]
        if not isinstance(total, int):
            findings.append(Finding("bundle.total", "total présent", "absent",
                                    "le Bundle ne porte pas d'élément total (exigé par l'IG, même à 0)"))
        elif rule != "present" and not in_range(total, rule):
            findings.append(Finding("bundle.total", shown_range(rule), str(total),
                                    f"le Bundle annonce total = {total}, attendu {shown_range(rule)}"))
    entries = body.get("entry") or []
    if "entries" in params and not in_range(len(entries), params["entries"]):
        findings.append(Finding("bundle.entries", shown_range(params["entries"]), str(len(entries)),
                                f"la page contient {len(entries)} entrée(s), attendu {shown_range(params['entries'])}"))
    relations = {link.get("relation") for link in body.get("link") or () if isinstance(link, dict)}
    for relation in params.get("links", ()):
        if relation not in relations:
            findings.append(Finding("bundle.links", f"lien {relation}", ", ".join(sorted(r for r in relations if r)) or "aucun lien",
                                    f"le Bundle n'a pas de lien « {relation} »"))
    if params.get("full_urls"):
        missing = [i for i, e in enumerate(entries) if not (isinstance(e, dict) and e.get("fullUrl"))]
        if missing:
            findings.append(Finding("bundle.full_urls", "fullUrl sur chaque entrée", f"{len(missing)} entrée(s) sans fullUrl",
                                    f"les entrées {', '.join(str(i) for i in missing[:10])} n'ont pas de fullUrl"))
    return findings
