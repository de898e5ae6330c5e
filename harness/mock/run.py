"""Run one consumer scenario: arm the mock, drive the consumer (`--consumer-cmd`, once per
scenario, instructions in environment variables), collect what it sent, class and judge it.

Environment given to the command: ROR_BASE_URL, ROR_TOKEN_URL, ROR_CLIENT_ID, ROR_CLIENT_SECRET,
ROR_SCENARIO, ROR_TASK, ROR_INSTRUCTIONS, ROR_PARAM_<NAME> (the task's parameters) and the four
Ror-* header values (ROR_PROFIL_UTILISATEUR_CODE, ..._SYSTEM, ROR_ROLE_METIER_CODE, ..._SYSTEM).
`{base_url}`, `{token_url}`, `{scenario}` and `{task}` in the command are replaced.
"""
from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import tempfile
import time
from typing import Any

from harness.mock.judge import UNEXPECTED, classify, judge
from harness.mock.recorder import Call, Misbehaviour, Trouble
from harness.mock.server import MockServer
from harness.outcomes import CheckFailure, Exchange, Outcome, RecordedRequest, RecordedResponse, ScenarioResult
from harness.redaction import redact_headers, redact_text
from harness.report.events import EventHub, ScenarioFinished, ScenarioStarted, StepFinished
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
                               delay_s=float(t.get("delay", 0))) for t in mock.get("troubles", ())))


def consumer_env(scenario: Scenario, mock: MockServer, params: dict) -> dict[str, str]:
    spec = scenario.consumer
    env = {"ROR_BASE_URL": mock.base_url, "ROR_TOKEN_URL": mock.token_url, "ROR_CLIENT_ID": mock.client_id,
           "ROR_CLIENT_SECRET": mock.client_secret, "ROR_SCENARIO": scenario.id, "ROR_TASK": spec.task,
           "ROR_INSTRUCTIONS": spec.instructions, **ROR_HEADER_ENV}
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


def drive(command: str, env: dict[str, str], timeout_s: float, mock: MockServer, max_requests: int) -> tuple[int | None, str, str]:
    """Run the consumer; (exit code or None when stopped, its output, why it was stopped)."""
    values = {"base_url": env["ROR_BASE_URL"], "token_url": env["ROR_TOKEN_URL"], "scenario": env["ROR_SCENARIO"],
              "task": env["ROR_TASK"]}
    argv = [part.format_map(values) if "{" in part else part for part in shlex.split(command)]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
        deadline, stopped = time.monotonic() + timeout_s, ""
        while process.poll() is None:
            if time.monotonic() > deadline:
                stopped = f"le consommateur n'a pas fini en {timeout_s:g} s : arrêté"
            elif mock.recorder.count() > max_requests:
                stopped = f"plus de {max_requests} requêtes : le consommateur boucle, arrêté"
            if stopped:
                process.kill()
                process.wait()
                break
            time.sleep(0.02)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return (None if stopped else process.returncode), text, stopped


def run_consumer_scenario(scenario: Scenario, mock: MockServer, command: str, facts: dict, hub: EventHub,
                          validator: Any) -> ScenarioResult:
    hub.emit(ScenarioStarted(scenario.id, scenario.title, scenario.priority, scenario.role, scenario.area,
                             scenario.source, scenario.requirements))
    started = time.monotonic()
    spec = scenario.consumer
    failures: list[CheckFailure] = []
    exchanges: list[Exchange] = []
    reason = ""
    try:
        env = {"facts": facts, "saved": {}}
        params = render(spec.params, env)
        spec = dataclasses.replace(spec, expectations=tuple(
            dataclasses.replace(e, query=render(e.query, env), headers=render(e.headers, env), body=render(e.body, env))
            for e in spec.expectations))
        mock.recorder.arm(misbehaviour(spec.mock))
        code, output, stopped = drive(command, consumer_env(scenario, mock, params), spec.timeout_s, mock,
                                      spec.expect_run.get("max_requests", DEFAULT_MAX_REQUESTS))
        calls = mock.recorder.take()
        classing = classify(spec, calls)
        failures = judge(spec, calls, classing, validator)
        lines = {e.name: e.line for e in spec.expectations}
        exchanges = [_exchange(c, classing.step_of.get(c.index, UNEXPECTED), lines.get(classing.step_of.get(c.index, ""), spec.line))
                     for c in calls]
        failures += _ending(scenario, code, output, stopped)
        outcome = Outcome.FAILED if failures else Outcome.PASSED
        for name in [*(e.name for e in spec.expectations), UNEXPECTED]:
            hub.emit(StepFinished(scenario.id, name, lines.get(name, spec.line),
                                  tuple(x for x in exchanges if x.step == name), tuple(f for f in failures if f.step == name)))
    except MissingValue as exc:
        outcome, reason = Outcome.SKIPPED, f"donnée d'exemple absente : {exc.name}"
    except Exception as exc:  # noqa: BLE001 - the harness's own failure
        outcome, reason = Outcome.INCONCLUSIVE, f"erreur interne du banc (mode consommateur) : {type(exc).__name__}: {exc}"
        mock.recorder.take()
    result = ScenarioResult(id=scenario.id, title=scenario.title, priority=scenario.priority, role=scenario.role,
                            outcome=outcome, duration_s=time.monotonic() - started, source=scenario.source,
                            requirements=list(scenario.requirements), area=scenario.area, failures=failures,
                            exchanges=exchanges, reason=reason)
    hub.emit(ScenarioFinished(result))
    return result


def _ending(scenario: Scenario, code: int | None, output: str, stopped: str) -> list[CheckFailure]:
    spec = scenario.consumer
    tail = redact_text(output[-400:].strip()) or "(aucune sortie)"
    if stopped:
        return [CheckFailure("consommateur", spec.line, "consumer.stopped", "le consommateur se termine", stopped, stopped)]
    failures = []
    if spec.exit == "success" and code != 0:
        failures.append(CheckFailure("consommateur", spec.line, "consumer.exit", "code de sortie 0", f"{code} ; sortie : {tail}",
                                     "le consommateur a échoué sur une réponse qu'il devait accepter"))
    if spec.exit == "failure" and code == 0:
        failures.append(CheckFailure("consommateur", spec.line, "consumer.exit", "un code de sortie non nul (erreur signalée)",
                                     f"0 ; sortie : {tail}", "le consommateur a ignoré une erreur du ROR au lieu de la signaler"))
    if spec.output_contains and spec.output_contains not in output:
        failures.append(CheckFailure("consommateur", spec.line, "consumer.output", spec.output_contains, tail,
                                     "le consommateur ne rapporte pas le diagnostic de l'OperationOutcome"))
    return failures
