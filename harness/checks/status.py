"""Checks on the HTTP envelope: the status code and the response headers."""
from __future__ import annotations

import re
from typing import Any

from harness.checks.context import Finding, StepContext
from harness.checks.registry import register


def _status_matches(status: int, wanted: int | str) -> bool:
    if isinstance(wanted, int):
        return status == wanted
    return str(status)[0] == wanted[0]  # "4xx"


@register("status")
def check_status(ctx: StepContext, params: Any) -> list[Finding]:
    """The HTTP status is the one expected: a code (200), a class ("4xx") or a list of them.

    The first check to read: when it fails, the other checks of the step usually explain why.
    """
    wanted = params if isinstance(params, list) else [params]
    shown = " ou ".join(str(w) for w in wanted)
    if ctx.response is None:
        return [Finding("status", shown, "aucune réponse", "la cible n'a pas répondu")]
    if any(_status_matches(ctx.response.status, w) for w in wanted):
        return []
    return [Finding("status", shown, str(ctx.response.status),
                    f"statut HTTP attendu {shown}, reçu {ctx.response.status}")]


@register("headers")
def check_headers(ctx: StepContext, params: Any) -> list[Finding]:
    """Response headers (names in any case): present or absent, equal to, containing or matching a value.

    Used for the IG's envelope rules: Content-Type application/fhir+json, ETag and Last-Modified
    after an update, Location after a create, WWW-Authenticate on a 401.
    """
    if ctx.response is None:
        return [Finding("headers", "une réponse", "aucune réponse", "la cible n'a pas répondu")]
    findings = []
    for name, rule in params.items():
        value = ctx.response.header(name)
        shown = "(absent)" if value is None else value
        if rule.get("present") is False:
            if value is not None:
                findings.append(Finding("headers", f"{name} absent", shown, f"l'en-tête {name} ne doit pas être présent"))
            continue
        if value is None:
            findings.append(Finding("headers", f"{name} présent", shown, f"l'en-tête {name} est absent de la réponse"))
            continue
        if "equals" in rule and value != rule["equals"]:
            findings.append(Finding("headers", f"{name} = {rule['equals']}", shown,
                                    f"l'en-tête {name} vaut « {value} » au lieu de « {rule['equals']} »"))
        if "contains" in rule and rule["contains"].lower() not in value.lower():
            findings.append(Finding("headers", f"{name} contient {rule['contains']}", shown,
                                    f"l'en-tête {name} (« {value} ») ne contient pas « {rule['contains']} »"))
        if "matches" in rule and not re.search(rule["matches"], value):
            findings.append(Finding("headers", f"{name} ~ /{rule['matches']}/", shown,
                                    f"l'en-tête {name} (« {value} ») ne correspond pas au motif attendu"))
    return findings


@register("refused")
def check_refused(ctx: StepContext, params: Any) -> list[Finding]:
    """The target refuses the request: the TLS handshake fails or the connection is closed
    without an answer, or the answer is HTTP 401 or 403.

    For access control that a server may enforce at either layer, e.g. mutual TLS (RFC 8705):
    a server that requires the client certificate refuses the handshake, one that checks the
    certificate bound to the token answers 401. Any other answer (data served, 400, 404, ...)
    fails. A connection refused because nothing listens, or a timeout, is not a refusal: the
    engine reports it as the target not answering.
    """
    if ctx.response is None:
        return []  # the engine only lets a TLS / connection refusal through to this check
    if ctx.response.status in (401, 403):
        return []
    return [Finding("refused", "refus (échec TLS, connexion fermée, ou HTTP 401/403)", f"HTTP {ctx.response.status}",
                    f"la requête aurait dû être refusée ; la cible a répondu {ctx.response.status}")]
