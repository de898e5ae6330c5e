"""The `export` check: a Bulk Data `$export` followed to its NDJSON files and judged on their content.

Why a check and not steps: the asynchronous flow (FHIR async pattern, Bulk Data 2.0, IG
ST2-S1bis/S1ter) is a loop — poll the Content-Location URL while it answers 202, then read the
manifest and download every file it lists — and its verdict is about the files together
(counts per type, references that must resolve inside the export). Like the `search` walk, every
request goes through `Services.fetch` (recorded under the step, never to another origin) and the
wait is bounded by a budget; running out of it is inconclusive, not the candidate's failure.

The step's request is the kick-off (`GET [base]/$export` with `Prefer: respond-async`); its
answer must be 202 with `Content-Location`.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from harness.checks.bundle import in_range, shown_range
from harness.checks.context import Finding, RefusedUrl, StepContext
from harness.checks.registry import register
from harness.checks.search_values import reference_key
from harness.fhir.fhirpath import NotEvaluable, default_engine

DEFAULT_BUDGET = {"seconds": 120.0, "polls": 600}
#: Bounds of the wait between two polls (Retry-After is honoured inside them).
MIN_WAIT, MAX_WAIT = 0.2, 5.0
#: Offending items named in one finding.
SHOWN = 5


def _shown(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (" …" if len(items) > SHOWN else "")


def _wait(retry_after: str | None, remaining: float) -> float:
    try:
        wanted = float(retry_after) if retry_after else 1.0
    except ValueError:  # an HTTP-date: wait the default
        wanted = 1.0
    return max(0.0, min(max(wanted, MIN_WAIT), MAX_WAIT, remaining))


def _poll(ctx: StepContext, url: str, budget: dict) -> tuple[dict | None, list[Finding]]:
    """The manifest once the job is done, or the findings that say why there is none."""
    started = time.monotonic()
    for poll in range(1, int(budget["polls"]) + 1):
        try:
            fetched = ctx.services.fetch(url)
        except RefusedUrl as exc:
            return None, [Finding("export.poll", "une URL de suivi sur la cible", url, str(exc))]
        ctx.more_exchanges.extend(fetched.exchanges)
        answer = fetched.response
        if answer is None:
            why = fetched.error or "aucune réponse"
            return None, [Finding("export.poll", "une réponse à l'interrogation", why, f"l'URL de suivi n'a pas répondu : {why}")]
        if answer.status == 200:
            try:
                manifest = answer.json()
            except Exception as exc:  # noqa: BLE001 - NotJson: a French message
                return None, [Finding("export.manifest", "un manifeste JSON", "illisible", str(exc))]
            if not isinstance(manifest, dict):
                return None, [Finding("export.manifest", "un objet JSON", type(manifest).__name__,
                                      "le manifeste de l'extraction n'est pas un objet JSON")]
            return manifest, []
        if answer.status != 202:
            return None, [Finding("export.poll", "202 (en cours) puis 200 (terminé)", str(answer.status),
                                  f"l'interrogation de l'extraction répond {answer.status} (poll n° {poll})")]
        remaining = budget["seconds"] - (time.monotonic() - started)
        if remaining <= 0:
            break
        time.sleep(_wait(answer.header("Retry-After"), remaining))
    return None, [Finding("export.poll", "extraction terminée dans le budget",
                          f"toujours en cours après {time.monotonic() - started:.0f} s",
                          f"l'extraction n'est pas terminée dans le budget du banc ({budget['seconds']:g} s, "
                          f"{budget['polls']} interrogations)", inconclusive=True)]


def _manifest_shape(manifest: dict) -> list[Finding]:
    findings = []
    for name, wanted in (("transactionTime", str), ("request", str), ("requiresAccessToken", bool), ("output", list)):
        if not isinstance(manifest.get(name), wanted):
            findings.append(Finding("export.manifest", f"{name} présent", repr(manifest.get(name)),
                                    f"le manifeste de l'extraction n'a pas d'élément {name} valide (Bulk Data)"))
    for i, item in enumerate(manifest.get("output") if isinstance(manifest.get("output"), list) else ()):
        if not (isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("url"), str)):
            findings.append(Finding("export.manifest", "output[] avec type et url", repr(item)[:200],
                                    f"l'entrée output[{i}] du manifeste n'a pas de type ou d'url"))
    return findings


def _download(ctx: StepContext, outputs: list[dict]) -> tuple[dict[str, dict], Counter, list[Finding]]:
    """Every resource of every file, by `Type/id`; the distinct resources per type; the findings."""
    resources: dict[str, dict] = {}
    per_type: Counter = Counter()
    findings: list[Finding] = []
    duplicates, misplaced = [], []
    for item in outputs:
        try:
            fetched = ctx.services.fetch(item["url"])
        except RefusedUrl as exc:  # Bulk Data lets files live elsewhere (storage): not judged, not failed
            findings.append(Finding("export.files", "un fichier sur la cible", item["url"],
                                    f"fichier non vérifié : {exc}", inconclusive=True))
            continue
        ctx.more_exchanges.extend(fetched.exchanges)
        answer = fetched.response
        if answer is None or answer.status != 200:
            got = fetched.error if answer is None else str(answer.status)
            findings.append(Finding("export.files", "200", got, f"le fichier {item['url']} ne se télécharge pas ({got})"))
            continue
        if answer.truncated:  # the client stopped reading at its body limit: a harness limit, not a fault
            findings.append(Finding("export.files", "le fichier complet", "fichier tronqué à la limite du banc",
                                    f"le fichier {item['url']} dépasse la taille maximale lue par le banc "
                                    "(max_body_bytes du profil de cible) : non vérifié", inconclusive=True))
            continue
        for number, line in enumerate((answer.text or "").splitlines(), 1):
            if not line.strip():
                continue
            try:
                resource = json.loads(line)
            except ValueError:
                findings.append(Finding("export.files", "une ressource JSON par ligne (NDJSON)", line[:120],
                                        f"la ligne {number} du fichier {item['url']} n'est pas du JSON"))
                break
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                findings.append(Finding("export.files", "une ressource FHIR par ligne", line[:120],
                                        f"la ligne {number} du fichier {item['url']} n'est pas une ressource FHIR"))
                break
            key = f"{resource['resourceType']}/{resource.get('id')}"
            if resource["resourceType"] != item["type"]:
                misplaced.append(f"{key} dans un fichier {item['type']}")
            if key in resources:
                duplicates.append(key)
            else:
                per_type[resource["resourceType"]] += 1
            resources[key] = resource
    if duplicates:
        findings.append(Finding("export.files", "chaque ressource une seule fois", _shown(duplicates),
                                f"{len(duplicates)} ressource(s) exportée(s) deux fois : {_shown(duplicates)}"))
    if misplaced:
        findings.append(Finding("export.files", "des fichiers du type annoncé", _shown(misplaced),
                                f"ressources dans un fichier d'un autre type : {_shown(misplaced)}"))
    return resources, per_type, findings


def _content(resources: dict[str, dict], per_type: Counter, params: dict) -> list[Finding]:
    findings = []
    for rtype, rule in (params.get("types") or {}).items():
        if not in_range(per_type.get(rtype, 0), rule):
            findings.append(Finding("export.types", f"{rtype} : {shown_range(rule)}", str(per_type.get(rtype, 0)),
                                    f"l'extraction contient {per_type.get(rtype, 0)} ressource(s) {rtype}, "
                                    f"attendu {shown_range(rule)}"))
    if params.get("only_types"):
        others = sorted(set(per_type) - set(params.get("types") or {}))
        if others:
            findings.append(Finding("export.types", ", ".join(sorted(params.get("types") or {})), ", ".join(others),
                                    f"l'extraction contient des types non demandés : {', '.join(others)}"))
    engine = default_engine()
    for rule in params.get("each") or ():
        wrong = []
        for key, resource in resources.items():
            if resource["resourceType"] != rule["type"]:
                continue
            try:
                values = engine.evaluate(rule["expr"], resource)
            except NotEvaluable as exc:
                findings.append(Finding("export.each", rule["expr"], exc.reason,
                                        f"expression FHIRPath non évaluable par le banc : {exc.reason}", inconclusive=True))
                break
            if not (len(values) == 1 and values[0] is True):
                wrong.append(key)
        if wrong:
            findings.append(Finding("export.each", f"{rule['type']} : {rule['expr']}", f"{len(wrong)} non conforme(s) : {_shown(wrong)}",
                                    f"{rule.get('message') or 'assertion non vérifiée'} ({len(wrong)} ressource(s) : "
                                    f"{_shown(wrong)})"))
    for path in params.get("closed") or ():
        rtype, _, expr = path.partition(".")
        absent: list[str] = []
        for resource in resources.values():
            if resource["resourceType"] != rtype:
                continue
            try:
                items = engine.evaluate(expr, resource)
            except NotEvaluable as exc:
                findings.append(Finding("export.closed", path, exc.reason, f"référence non vérifiable : {exc.reason}",
                                        inconclusive=True))
                break
            for item in items:
                ref = item.get("reference") if isinstance(item, dict) else None
                key = reference_key(ref) if ref else None
                if key and "/" in key and key not in resources and key not in absent:
                    absent.append(key)
        if absent:
            findings.append(Finding("export.closed", f"les ressources désignées par {path} dans l'extraction",
                                    f"{len(absent)} absente(s) : {_shown(absent)}",
                                    f"{path} : {len(absent)} ressource(s) référencée(s) absente(s) de l'extraction "
                                    f"({_shown(absent)})"))
    return findings


@register("export")
def check_export(ctx: StepContext, params: Any) -> list[Finding]:
    """A `$export` kick-off followed to its files: 202 with Content-Location, polling while 202,
    a Bulk Data manifest (transactionTime, request, requiresAccessToken, output[type, url]), every
    NDJSON file downloaded (one resource per line, of the file's type, none twice), then the
    content.

    Options: types ({Type: count or {min, max}} resources of each type in the files), only_types
    (true: no type other than those of `types`), each ([{type, expr, message}]: FHIRPath true on
    every exported resource of that type), closed ([Type.path]: the references at that FHIRPath
    on every resource of Type point to resources of the export), budget ({seconds, polls}:
    bounds of the wait; defaults 120 s, 600 polls).
    """
    if ctx.response is None:
        return [Finding("export", "une réponse", "aucune réponse", "la cible n'a pas répondu")]
    if ctx.response.status != 202:
        return [Finding("export", "202 Accepted", str(ctx.response.status),
                        f"le lancement de l'extraction répond {ctx.response.status} au lieu de 202 Accepted")]
    url = ctx.response.header("Content-Location")
    if not url:
        return [Finding("export.poll", "en-tête Content-Location", "absent",
                        "202 sans Content-Location : le banc ne sait pas où suivre l'extraction")]
    if not url.startswith(("http://", "https://")):
        url = ctx.base_url.rstrip("/") + "/" + url.lstrip("/")
    manifest, findings = _poll(ctx, url, {**DEFAULT_BUDGET, **(params.get("budget") or {})})
    if manifest is None:
        return findings
    findings = _manifest_shape(manifest)
    if findings:
        return findings
    resources, per_type, findings = _download(ctx, manifest["output"])
    if any(f.inconclusive for f in findings):
        # a file the harness could not read whole (size limit, another origin): counting or judging
        # the rest would blame the target for what the harness did not see; only a type wanted and
        # with no file at all in the manifest is judged (no unread file can be of that type)
        return findings + _unlisted_types(manifest["output"], params)
    return findings + _content(resources, per_type, params)


def _unlisted_types(outputs: list[dict], params: dict) -> list[Finding]:
    """Types the export must contain (`types` rule not met by 0) for which the manifest lists no file."""
    listed = {item["type"] for item in outputs}
    return [Finding("export.types", f"{rtype} : {shown_range(rule)}", "0 (aucun fichier dans le manifeste)",
                    f"l'extraction ne contient aucun fichier {rtype} (manifeste), attendu {shown_range(rule)}")
            for rtype, rule in (params.get("types") or {}).items() if rtype not in listed and not in_range(0, rule)]
