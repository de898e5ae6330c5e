"""Run one consumer scenario: arm the mock, let the driver make the consumer act (a command or
a person, drivers.py), collect what it sent, class and judge it.

Environment given to the consumer: ROR_BASE_URL, ROR_TOKEN_URL, ROR_CLIENT_ID, ROR_CLIENT_SECRET,
ROR_SCENARIO, ROR_TASK, ROR_INSTRUCTIONS, ROR_PARAM_<NAME> (the task's parameters), the four
Ror-* header values (ROR_PROFIL_UTILISATEUR_CODE, ..._SYSTEM, ROR_ROLE_METIER_CODE, ..._SYSTEM),
and over HTTPS the CA to trust (ROR_CA_BUNDLE, also as SSL_CERT_FILE and REQUESTS_CA_BUNDLE)
and the client certificate (ROR_CLIENT_CERT, ROR_CLIENT_KEY).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from harness.mock.drivers import Driver, Ending
from harness.mock.judge import UNEXPECTED, classify, judge
from harness.mock.recorder import Call, Misbehaviour, Trouble
from harness.mock.server import MUTUAL, PLAIN, Credentials, MockServer, MockServers
from harness.outcomes import (
    CheckFailure,
    Exchange,
    Outcome,
    RecordedRequest,
    RecordedResponse,
    ScenarioResult,
)
from harness.pytest_plugin.execute import finish_scenario, start_scenario
from harness.redaction import redact_headers, redact_text
from harness.report.events import EventHub, StepFinished
from harness.scenario.consumer import ConsumerSpec
from harness.scenario.model import Scenario
from harness.scenario.templates import MissingValue, render

ROR_HEADER_ENV = {"ROR_PROFIL_UTILISATEUR_CODE": "CU22", "ROR_PROFIL_UTILISATEUR_SYSTEM": "1.2.250.1.213.1.6.1.66",
                  "ROR_ROLE_METIER_CODE": "AUTOMATE", "ROR_ROLE_METIER_SYSTEM": "1.2.250.1.213.1.1.4.6"}
DEFAULT_MAX_REQUESTS = 200
MAX_OUTPUT_CHARS = 20000


def misbehaviour(mock: dict) -> Misbehaviour:
    return Misbehaviour(
        page_size=mock.get("page_size"), cyclic_next=bool(mock.get("cyclic_next")),
        unknown_extension=bool(mock.get("unknown_extension")), new_code=bool(mock.get("new_code")),
        troubles=tuple(Trouble(status=t.get("status", 503), retry_after=t.get("retry_after"), times=t.get("times", 1),
                               path=t.get("path", "/"), diagnostics=t.get("diagnostics", "erreur simulée par le banc"),
                               delay_s=float(t.get("delay", 0)), method=t.get("method"), after=t.get("after", 0),
                               code=t.get("code"), expression=t.get("expression")) for t in mock.get("troubles", ())))


def consumer_env(scenario: Scenario, server: MockServer, credentials: Credentials, params: dict) -> dict[str, str]:
    """What the consumer is told, as environment variables (docs/consumer-mode.md)."""
    spec = scenario.consumer
    env = {"ROR_BASE_URL": server.base_url, "ROR_TOKEN_URL": server.token_url, "ROR_CLIENT_ID": credentials.client_id,
           "ROR_CLIENT_SECRET": credentials.client_secret, "ROR_SCENARIO": scenario.id, "ROR_TASK": spec.task,
           "ROR_INSTRUCTIONS": spec.instructions, **ROR_HEADER_ENV}
    if credentials.ca_bundle:  # the standard variables too, so that an unmodified HTTP client trusts the mock
        env |= {"ROR_CA_BUNDLE": credentials.ca_bundle, "SSL_CERT_FILE": credentials.ca_bundle,
                "REQUESTS_CA_BUNDLE": credentials.ca_bundle}
    if credentials.client_cert and credentials.client_key:
        env |= {"ROR_CLIENT_CERT": credentials.client_cert, "ROR_CLIENT_KEY": credentials.client_key}
    env.update({f"ROR_PARAM_{k.upper()}": str(v) for k, v in params.items()})
    return env


def _exchange(call: Call, step: str, line: int) -> Exchange:
    body = call.body.decode("utf-8", "replace") if call.body else None
    out = call.response_body.decode("utf-8", "replace") if call.response_body else None
    query = "&".join(f"{k}={v}" for k, v in call.query)
    request = RecordedRequest(call.method, call.path + (f"?{query}" if query else ""), redact_headers(call.headers),
                              redact_text(body) if body else None)
    note = {"x-ror-harness-mock": call.misbehaviour} if call.misbehaviour else {}
    response = RecordedResponse(call.status, {**redact_headers(call.response_headers), **note},
                                redact_text(out[:MAX_OUTPUT_CHARS]) if out else None,
                                (call.finished - call.started) * 1000, truncated=bool(out and len(out) > MAX_OUTPUT_CHARS))
    return Exchange(step, line, request, response)


def run_consumer_scenario(scenario: Scenario, mocks: MockServers, driver: Driver, facts: dict, hub: EventHub,
                          validator: Callable[[], Any]) -> ScenarioResult:
    """Arm the mock, let the driver make the consumer act, then class and judge what it sent."""
    started = start_scenario(scenario, hub)
    spec = scenario.consumer
    failures: list[CheckFailure] = []
    exchanges: list[Exchange] = []
    reason = ""
    transport = MUTUAL if spec.mock.get("client_cert") == "required" else PLAIN
    server = None
    try:
        if transport == MUTUAL and not mocks.mutual_tls_available:
            raise _Skip("TLS mutuel indisponible : le paquet cryptography manque pour créer les certificats")
        env = {"facts": facts, "saved": {}}
        params = render(spec.params, env)
        spec = dataclasses.replace(spec, expectations=tuple(
            dataclasses.replace(e, path=render(e.path, env), query=render(e.query, env), headers=render(e.headers, env),
                                body=render(e.body, env))
            for e in spec.expectations))
        server = mocks.get(transport)
        server.recorder.arm(misbehaviour(spec.mock))
        ending = driver.drive(scenario.id, scenario.title, consumer_env(scenario, server, mocks.credentials, params),
                              spec.timeout_s, server.recorder, spec.expect_run.get("max_requests", DEFAULT_MAX_REQUESTS))
        calls = server.recorder.take()
        classing = classify(spec, calls)
        failures = judge(spec, calls, classing, validator)
        lines = {e.name: e.line for e in spec.expectations}
        exchanges = [_exchange(c, classing.step_of.get(c.index, UNEXPECTED), lines.get(classing.step_of.get(c.index, ""), spec.line))
                     for c in calls]
        failures += _ending(spec, ending)
        outcome = Outcome.FAILED if failures else Outcome.PASSED
        if not ending.exit_observed and (spec.exit != "any" or spec.output_contains):
            reason = "mode interactif : le code de sortie et la sortie du consommateur ne sont pas vérifiés"
        for name in [*(e.name for e in spec.expectations), UNEXPECTED]:
            hub.emit(StepFinished(scenario.id, name, lines.get(name, spec.line),
                                  tuple(x for x in exchanges if x.step == name), tuple(f for f in failures if f.step == name)))
    except MissingValue as exc:
        outcome, reason = Outcome.SKIPPED, f"donnée d'exemple absente : {exc.name}"
    except _Skip as exc:
        outcome, reason = Outcome.SKIPPED, str(exc)
    except Exception as exc:  # noqa: BLE001 - the harness's own failure
        outcome, reason = Outcome.INCONCLUSIVE, f"erreur interne du banc (mode consommateur) : {type(exc).__name__}: {exc}"
        if server is not None:
            server.recorder.take()
    return finish_scenario(scenario, hub, started, outcome, reason, failures, exchanges)


class _Skip(Exception):
    """The scenario cannot be played here (French reason): skipped, not failed."""


def _ending(spec: ConsumerSpec, ending: Ending) -> list[CheckFailure]:
    tail = redact_text(ending.output[-400:].strip()) or "(aucune sortie)"
    if ending.stopped:
        return [CheckFailure("consommateur", spec.line, "consumer.stopped", "le consommateur se termine", ending.stopped,
                             ending.stopped)]
    if not ending.exit_observed:
        return []
    failures = []
    if spec.exit == "success" and ending.code != 0:
        failures.append(CheckFailure("consommateur", spec.line, "consumer.exit", "code de sortie 0", f"{ending.code} ; sortie : {tail}",
                                     "le consommateur a échoué sur une réponse qu'il devait accepter"))
    if spec.exit == "failure" and ending.code == 0:
        failures.append(CheckFailure("consommateur", spec.line, "consumer.exit", "un code de sortie non nul (erreur signalée)",
                                     f"0 ; sortie : {tail}", "le consommateur a ignoré une erreur du ROR au lieu de la signaler"))
    if spec.output_contains and spec.output_contains not in ending.output:
        failures.append(CheckFailure("consommateur", spec.line, "consumer.output", spec.output_contains, tail,
                                     "le consommateur ne rapporte pas le diagnostic de l'OperationOutcome"))
    return failures
