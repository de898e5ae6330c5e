"""Classing the recorded requests of one consumer scenario, and judging them.

Each request goes to the first expected step whose method, path and query constraints it meets
(matched), or to no step (unexpected). Matched requests then have their headers and body checked;
each step must have been met between `min` and `max` times; `expect_run` checks the conversation
as a whole (every next link followed, no double fetch, Retry-After honoured).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.mock.recorder import Call
from harness.outcomes import CheckFailure
from harness.scenario.consumer import ConsumerSpec, Expectation

UNEXPECTED = "requête inattendue"
#: Parameters a consumer may always add without breaking `only_query`.
FREE_PARAMS = {"_count", "_format", "_pretty"}
#: Tolerance on Retry-After (clock granularity of the two processes).
RETRY_SLACK_S = 0.05


@dataclass
class Classing:
    matched: dict[str, list[Call]] = field(default_factory=dict)  # step name -> calls
    unexpected: list[Call] = field(default_factory=list)
    step_of: dict[int, str] = field(default_factory=dict)  # call index -> step name


def _values(pairs: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in pairs if k == name]


def _holds(values: list[str], constraint: Any) -> bool:
    """A constraint on the values a name has (query parameter, header, form field)."""
    if isinstance(constraint, bool):
        constraint = "true" if constraint else "false"
    if isinstance(constraint, (str, int, float)):
        return str(constraint) in values
    if isinstance(constraint, list):
        return all(_holds(values, item) for item in constraint)
    if "present" in constraint and bool(values) != constraint["present"]:
        return False
    if "equals" in constraint and str(constraint["equals"]) not in values:
        return False
    if "one_of" in constraint and not {str(v) for v in constraint["one_of"]} & set(values):
        return False
    if "contains" in constraint and not any(constraint["contains"].lower() in v.lower() for v in values):
        return False
    return "matches" not in constraint or any(re.search(constraint["matches"], v) for v in values)


def selects(exp: Expectation, call: Call) -> bool:
    if call.method != exp.method or call.path.rstrip("/") != exp.path.rstrip("/"):
        return False
    if not all(_holds(_values(call.query, name), c) for name, c in exp.query.items()):
        return False
    if exp.only_query and not {k for k, _ in call.query} <= set(exp.query) | FREE_PARAMS:
        return False
    return exp.where is None or _body_holds(exp.where, call.body)


def _body_holds(expr: str, body: bytes) -> bool:
    """`where`: a body that is not a FHIR resource selects nothing."""
    try:
        resource = json.loads(body)
        return isinstance(resource, dict) and "resourceType" in resource and \
            default_engine().evaluate(expr, resource) == [True]
    except (ValueError, NotEvaluable):
        return False


def classify(spec: ConsumerSpec, calls: list[Call]) -> Classing:
    result = Classing({e.name: [] for e in spec.expectations})
    for call in calls:
        step = next((e for e in spec.expectations if selects(e, call)), None)
        if step is None:
            result.unexpected.append(call)
        else:
            result.matched[step.name].append(call)
            result.step_of[call.index] = step.name
    return result


def describe(call: Call) -> str:
    query = "&".join(f"{k}={v}" for k, v in call.query)
    return f"{call.method} {call.path}{'?' + query if query else ''} (réponse {call.status or '—'})"


def _fail(exp_name: str, line: int, check: str, expected: str, actual: str, message: str,
          issues: tuple = ()) -> CheckFailure:
    return CheckFailure(exp_name, line, check, expected, actual, message, issues)


def _check_call(exp: Expectation, call: Call, validator: Any) -> list[CheckFailure]:
    failures = []
    headers = list(call.headers.items())
    for name, constraint in exp.headers.items():
        if not _holds(_values(headers, name.lower()), constraint):
            shown = "[REDACTED]" if name.lower() == "authorization" and name.lower() in call.headers else call.headers.get(name.lower(), "absent")
            failures.append(_fail(exp.name, exp.line, "request.headers", f"{name}: {json.dumps(constraint, ensure_ascii=False)}",
                                  shown, f"en-tête {name} non conforme dans {describe(call)}"))
    body = exp.body
    if "form" in body:
        form = parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True)
        for name, constraint in body["form"].items():
            if not _holds(_values(form, name), constraint):
                failures.append(_fail(exp.name, exp.line, "request.form", f"{name}: {json.dumps(constraint, ensure_ascii=False)}",
                                      ", ".join(_values(form, name)) or "absent", f"champ {name} du formulaire non conforme"))
    resource = None
    if "fhirpath" in body or "validate" in body:
        try:
            resource = json.loads(call.body)
        except ValueError:
            return failures + [_fail(exp.name, exp.line, "request.body", "un corps JSON", call.body[:200].decode("utf-8", "replace"),
                                     f"le corps de {describe(call)} n'est pas du JSON")]
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            return failures + [_fail(exp.name, exp.line, "request.body", "une ressource FHIR (resourceType)",
                                     call.body[:200].decode("utf-8", "replace"),
                                     f"le corps de {describe(call)} n'est pas une ressource FHIR")]
    for rule in body.get("fhirpath", ()):
        try:
            values = default_engine().evaluate(rule["expr"], resource)
        except NotEvaluable as exc:
            failures.append(_fail(exp.name, exp.line, "request.fhirpath", rule["expr"], "non évaluable", exc.reason))
            continue
        ok = values == (rule["equals"] if isinstance(rule.get("equals"), list) else [rule["equals"]]) if "equals" in rule \
            else values == [True] or (len(values) == 1 and not isinstance(values[0], bool))
        if not ok:
            failures.append(_fail(exp.name, exp.line, "request.fhirpath", rule["expr"] + (f" = {rule['equals']!r}" if "equals" in rule else ""),
                                  json.dumps(values, ensure_ascii=False, default=str)[:300],
                                  rule.get("message") or f"le corps de {describe(call)} ne satisfait pas {rule['expr']}"))
    if "validate" in body and isinstance(resource, dict):
        profile = body["validate"].get("profile") if isinstance(body["validate"], dict) else None
        result = validator().validate(resource, profile) if profile else validator().validate(resource)
        errors = [i for i in result.issues if i.severity in ("error", "fatal")]
        if errors:
            failures.append(_fail(exp.name, exp.line, "request.validate", profile or "le profil ROR du type",
                                  f"{len(errors)} erreur(s)", f"la ressource envoyée par {describe(call)} n'est pas valide",
                                  tuple({"severity": i.severity, "id": getattr(i, "message_id", ""), "expression": getattr(i, "expression", ""),
                                         "message": getattr(i, "message", ""), "message_fr": getattr(i, "message_fr", "")} for i in errors[:20])))
    return failures


def judge(spec: ConsumerSpec, calls: list[Call], classing: Classing, validator: Any) -> list[CheckFailure]:
    failures: list[CheckFailure] = []
    for exp in spec.expectations:
        got = classing.matched[exp.name]
        if len(got) < exp.count_min:
            failures.append(_fail(exp.name, exp.line, "request.count", f"au moins {exp.count_min} requête(s) {exp.method} {exp.path}",
                                  f"{len(got)}", f"requête attendue absente : « {exp.name} » ({exp.method} {exp.path}"
                                  + (f", {json.dumps(exp.query, ensure_ascii=False)}" if exp.query else "") + ")"))
        if exp.count_max is not None and len(got) > exp.count_max:
            failures.append(_fail(exp.name, exp.line, "request.count", f"au plus {exp.count_max}", f"{len(got)}",
                                  f"« {exp.name} » envoyée {len(got)} fois (au plus {exp.count_max})"))
        for call in got:
            failures += _check_call(exp, call, validator)
        failures += _order(exp, got, classing)
    if not calls and spec.mock.get("client_cert") == "required":
        failures.append(_fail("conversation", spec.line, "request.tls", "des requêtes sur une connexion TLS mutuelle",
                              "aucune requête reçue", "le ROR exige un certificat client : la poignée de main TLS a "
                              "échoué (certificat client absent ou non reconnu ?)"))
    run = spec.expect_run
    if classing.unexpected and run.get("unexpected", "fail") == "fail":
        failures.append(_fail(UNEXPECTED, spec.line, "request.unexpected", "aucune requête hors des étapes attendues",
                              "; ".join(describe(c) for c in classing.unexpected[:5]),
                              f"{len(classing.unexpected)} requête(s) ne correspondent à aucune étape attendue"))
    if run.get("all_next_followed"):
        failures += _next_followed(spec, calls)
    if run.get("no_refetch"):
        failures += _no_refetch(spec, calls)
    if run.get("retry_after"):
        failures += _retry_after(spec, calls)
    return failures


def _order(exp: Expectation, got: list[Call], classing: Classing) -> list[CheckFailure]:
    """`after`: each request of the step comes after the first request of the named step."""
    if exp.after is None or not got:
        return []
    before = classing.matched.get(exp.after) or []
    if before and all(call.index > before[0].index for call in got):
        return []
    actual = f"« {exp.after} » jamais envoyée" if not before else f"requête n°{got[0].index + 1} avant la n°{before[0].index + 1}"
    return [_fail(exp.name, exp.line, "request.order", f"après « {exp.after} »", actual,
                  f"« {exp.name} » doit suivre « {exp.after} »")]


def _key(url_or_call: str | Call) -> tuple:
    if isinstance(url_or_call, Call):
        return url_or_call.path, tuple(sorted((k, v) for k, v in url_or_call.query if k != "_count"))
    parts = urlsplit(url_or_call)
    return parts.path, tuple(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "_count"))


def _next_followed(spec: ConsumerSpec, calls: list[Call]) -> list[CheckFailure]:
    asked = {_key(c) for c in calls if c.method == "GET"}
    missed = []
    for call in calls:
        body = call.json() if 200 <= call.status < 300 else None
        if isinstance(body, dict) and body.get("resourceType") == "Bundle":
            for link in body.get("link", ()):
                if link.get("relation") == "next" and _key(link.get("url", "")) not in asked:
                    missed.append(link["url"])
    if not missed:
        return []
    return [_fail("conversation", spec.line, "run.all_next_followed", "chaque lien next suivi jusqu'à la dernière page",
                  f"{len(missed)} lien(s) non suivi(s), dont {missed[0]}", "l'extraction s'arrête avant la dernière page")]


def _no_refetch(spec: ConsumerSpec, calls: list[Call]) -> list[CheckFailure]:
    seen: dict[tuple, int] = {}
    for call in calls:
        if call.method != "GET" or not 200 <= call.status < 300:
            continue
        key = _key(call)
        if key in seen:
            return [_fail("conversation", spec.line, "run.no_refetch", "aucune page lue deux fois",
                          describe(call), f"la même requête est envoyée à nouveau (requêtes n°{seen[key] + 1} et "
                                          f"n°{call.index + 1}) : double lecture ou boucle sur un lien next cyclique")]
        seen[key] = call.index
    return []


def _retry_after(spec: ConsumerSpec, calls: list[Call]) -> list[CheckFailure]:
    failures = []
    for i, call in enumerate(calls):
        wait = call.response_headers.get("retry-after", "")
        if call.status not in (429, 503) or not wait.isdigit():
            continue
        later = [c for c in calls[i + 1:] if c.path != "/token"]
        if not later:
            continue
        gap = later[0].started - call.finished
        if gap + RETRY_SLACK_S < int(wait):
            failures.append(_fail("conversation", spec.line, "run.retry_after", f"attendre au moins {wait} s après la réponse {call.status}",
                                  f"requête suivante après {gap:.2f} s", "le consommateur ne respecte pas Retry-After"))
    return failures
