"""Allure results through allure-pytest's dynamic API, from inside the running pytest item.

The engine emits ScenarioStarted, StepFinished and ScenarioFinished while the scenario's pytest
item runs, so allure-pytest files everything below under that test. The test's own status
(passed, failed, skipped, broken) is pytest's, set by the engine; this module adds what a
reader needs to understand it:

- title "ROR-SRV-001 — <French title>", severity from priority: critique -> critical (a
  failure costs the whole PLATINES score, but does not block the other scenarios, which is
  what Allure's "blocker" would say), majeur -> normal, mineur -> minor;
- epic = the role (server / consumer side), feature = the catalogue `area`, tags = priority
  and role, one link per IG requirement;
- one Allure step per scenario step, and inside it one step per HTTP request with the request,
  the response, the curl replay line and, when a validation failed, the OperationOutcome.
  A step whose checks failed is marked failed.

Everything attached is redacted again here, whatever the engine already did, and made writable
(a lone surrogate from a JSON body would otherwise stop allure-pytest from writing the file).
"""
from __future__ import annotations

import json
import os
from urllib.parse import urljoin

import allure

from harness.outcomes import PRIORITY_LABELS, CheckFailure, Exchange, Outcome, ScenarioResult
from harness.report import allure_redaction
from harness.report.events import Event, ScenarioFinished, ScenarioStarted, StepFinished
from harness.report.wording import OUTCOME_FR, failure_text, safe_text, verdict_text

IG_BASE_URL = "https://interop.esante.gouv.fr/ig/fhir/ror/"
SEVERITY = {1: allure.severity_level.CRITICAL, 2: allure.severity_level.NORMAL, 3: allure.severity_level.MINOR}
EPIC = {"server": "ROR côté serveur", "consumer": "ROR côté consommateur"}


class _ChecksFailed(AssertionError):
    """Raised inside a step whose checks failed and caught just outside it: the only way Allure marks a step failed."""


def _pretty(body: str | None) -> str:
    if not body:
        return ""
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2)
    except ValueError:
        return body


def request_text(exchange: Exchange) -> str:
    request = exchange.request
    lines = [f"{request.method} {request.url}", *(f"{k}: {v}" for k, v in request.headers.items())]
    return safe_text("\n".join(lines) + ("\n\n" + _pretty(request.body) if request.body else ""))


def response_text(exchange: Exchange) -> str:
    response = exchange.response
    if response is None:
        return safe_text(f"pas de réponse : {exchange.error}")
    cut = " — corps tronqué à la limite de taille" if response.truncated else ""
    lines = [f"HTTP {response.status} ({response.elapsed_ms:.0f} ms){cut}",
             *(f"{k}: {v}" for k, v in response.headers.items())]
    return safe_text("\n".join(lines) + "\n\n" + _pretty(response.body))


def operation_outcome(failures: tuple[CheckFailure, ...]) -> dict:
    """The validation issues of failed checks as a FHIR OperationOutcome, the form FHIR tools read."""
    from harness.fhir.validation.outcome import MESSAGE_SYSTEM

    issues = [{"severity": issue.get("severity", "error"), "code": issue.get("code", "processing"),
               "details": {"coding": [{"system": MESSAGE_SYSTEM, "code": issue.get("id", "")}],
                           "text": issue.get("message_fr", "")},
               "diagnostics": issue.get("message", ""), "expression": [issue.get("expression", "")]}
              for failure in failures for issue in failure.issues]
    return {"resourceType": "OperationOutcome", "issue": issues}


def _attach(text: str, name: str, kind: allure.attachment_type = allure.attachment_type.TEXT) -> None:
    allure.attach(safe_text(text), name=name, attachment_type=kind)


class AllureReporter:
    """Labels, steps and attachments of the current pytest item; inert when allure-pytest is not recording.

    `results_dir` (pytest's --alluredir) turns on the redaction of what allure-pytest writes by
    itself (failure messages, parameters, captured output): see allure_redaction.
    """

    def __init__(self, results_dir: str | os.PathLike[str] | None = None, ig_base_url: str = IG_BASE_URL) -> None:
        self.ig_base_url = ig_base_url
        if results_dir is not None:
            allure_redaction.install(results_dir)

    def handle(self, event: Event) -> None:
        if isinstance(event, ScenarioStarted):
            self._describe(event)
        elif isinstance(event, StepFinished):
            self._step(event)
        elif isinstance(event, ScenarioFinished):
            self._conclude(event.result)

    def requirement_url(self, requirement: str) -> str:
        return requirement if requirement.startswith(("http://", "https://")) else urljoin(self.ig_base_url,
                                                                                          requirement)

    def _describe(self, event: ScenarioStarted) -> None:
        allure.dynamic.title(safe_text(f"{event.id} — {event.title}"))
        allure.dynamic.severity(SEVERITY.get(event.priority, allure.severity_level.NORMAL))
        allure.dynamic.epic(EPIC.get(event.role, event.role))
        if event.area:
            allure.dynamic.feature(event.area)
        allure.dynamic.label("ror_id", event.id)
        allure.dynamic.tag(event.role, PRIORITY_LABELS.get(event.priority, str(event.priority)))
        for requirement in event.requirements:
            allure.dynamic.link(self.requirement_url(requirement), name=requirement)

    def _step(self, event: StepFinished) -> None:
        try:
            with allure.step(safe_text(f"{event.step} (ligne {event.yaml_line})")):
                for exchange in event.exchanges:
                    status = exchange.response.status if exchange.response else "pas de réponse"
                    with allure.step(safe_text(f"{exchange.request.method} {exchange.request.url} → {status}")):
                        _attach(request_text(exchange), "requête")
                        _attach(response_text(exchange), "réponse")
                        _attach(exchange.curl, "curl")
                if any(failure.issues for failure in event.failures):
                    _attach(json.dumps(operation_outcome(event.failures), ensure_ascii=False, indent=2),
                            "OperationOutcome de validation", allure.attachment_type.JSON)
                if event.failures:
                    raise _ChecksFailed("\n\n".join(failure_text(f) for f in event.failures))
        except _ChecksFailed:
            pass  # the step is marked failed; the scenario's own status is the engine's to set

    def _conclude(self, result: ScenarioResult) -> None:
        verdict = verdict_text(result)
        text = f"**{OUTCOME_FR[result.outcome]}** ({result.priority_label})"
        if result.outcome is not Outcome.PASSED and verdict:
            text += "\n\n```\n" + verdict + "\n```"
        if result.source:
            text += f"\n\nScénario : `{result.source}`"
        allure.dynamic.description(safe_text(text))
