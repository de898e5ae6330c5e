"""Run one scenario against the target: render each step, send it, judge it, save values, and
turn it all into a ScenarioResult, emitting the report events on the way.

No pytest here: the plugin only wraps this, so the engine can be tested and reused alone.
A step stops the scenario when it fails or cannot be judged (later steps depend on it). The
outcome: any failed check -> failed; else anything the harness could not judge -> inconclusive;
else passed. An exception inside the harness is the harness's failure: inconclusive.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.checks import registry
from harness.checks.context import Finding, NotJson, Response, StepContext
from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.http.oauth import TokenError
from harness.http.settings import ROR_HEADER_NAMES
from harness.outcomes import CheckFailure, Exchange, Outcome, ScenarioResult
from harness.pytest_plugin.requires import unmet
from harness.pytest_plugin.session import RunContext, StepServices
from harness.report.events import (
    EventHub,
    ScenarioFinished,
    ScenarioStarted,
    StepFinished,
)
from harness.scenario.model import Request, Save, Scenario, Step
from harness.scenario.templates import MissingValue, render

#: The bearer token sent by `auth: invalid`: no server can have issued it.
INVALID_TOKEN = "ror-harness.invalid.token"
#: Transport outcomes that count as the target refusing the request (check `refused`): the TLS
#: handshake failed, or the server closed the connection instead of answering. A refused TCP
#: connection (nothing listens) or a timeout is not a refusal: the target is not there.
REFUSALS = frozenset({"tls", "connection_lost", "protocol"})


@dataclass
class StepOutcome:
    failures: list[CheckFailure] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)  # French reasons: inconclusive
    exchanges: list[Exchange] = field(default_factory=list)


class StepAborted(Exception):
    """The step could not be sent (French reason): the scenario is inconclusive."""


def run_scenario(scenario: Scenario, run: RunContext, hub: EventHub) -> ScenarioResult:
    started = start_scenario(scenario, hub)
    outcome, reason, failures, exchanges = _run(scenario, run, hub)
    return finish_scenario(scenario, hub, started, outcome, reason, failures, exchanges)


def skip_scenario(scenario: Scenario, reason: str, hub: EventHub) -> ScenarioResult:
    """A scenario that cannot be played in this run (French reason), reported as such."""
    return finish_scenario(scenario, hub, start_scenario(scenario, hub), Outcome.SKIPPED, reason, [], [])


def start_scenario(scenario: Scenario, hub: EventHub) -> float:
    """Announce the scenario to the reporters; its start time. Shared with the consumer mode."""
    hub.emit(ScenarioStarted(scenario.id, scenario.title, scenario.priority, scenario.role, scenario.area,
                             scenario.source, scenario.requirements))
    return time.monotonic()


def finish_scenario(scenario: Scenario, hub: EventHub, started: float, outcome: Outcome, reason: str,
                    failures: list[CheckFailure], exchanges: list[Exchange]) -> ScenarioResult:
    """The scenario's result, handed to the reporters."""
    result = ScenarioResult(
        id=scenario.id, title=scenario.title, priority=scenario.priority, role=scenario.role, outcome=outcome,
        duration_s=time.monotonic() - started, source=scenario.source, requirements=list(scenario.requirements),
        area=scenario.area, failures=failures, exchanges=exchanges, reason=reason)
    hub.emit(ScenarioFinished(result))
    return result


def _run(scenario: Scenario, run: RunContext, hub: EventHub) -> tuple[Outcome, str, list[CheckFailure], list[Exchange]]:
    why = unmet(scenario.requires, run.facts, run.capability, run.profile.has)
    if why:
        return Outcome.SKIPPED, why, [], []
    env: dict[str, Any] = {"facts": run.facts, "saved": {}}
    exchanges: list[Exchange] = []
    for step in scenario.steps:
        try:
            done = _run_step(step, scenario, run, env)
        except Exception as exc:  # noqa: BLE001 - a harness bug must not read as the candidate's failure
            why = f"erreur interne du banc à l'étape « {step.name} » : {type(exc).__name__}: {exc} ({_where(exc)})"
            done = StepOutcome(unjudged=[why])
        exchanges += done.exchanges
        hub.emit(StepFinished(scenario.id, step.name, step.line, tuple(done.exchanges), tuple(done.failures)))
        if done.failures:
            return Outcome.FAILED, "", done.failures, exchanges
        if done.unjudged:
            return Outcome.INCONCLUSIVE, f"étape « {step.name} » : " + " ; ".join(done.unjudged), [], exchanges
    return Outcome.PASSED, "", [], exchanges


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"


def _run_step(step: Step, scenario: Scenario, run: RunContext, env: dict) -> StepOutcome:
    done = StepOutcome()
    try:
        method, path, query, headers, body = _render_request(step.request, env)
        _credentials(step.request, run, headers)
    except StepAborted as exc:
        done.unjudged.append(str(exc))
        return done
    if path.startswith(("http://", "https://")) and not run.same_origin(path):
        done.failures.append(CheckFailure(step.name, step.request.line, "request", f"une URL de la cible ({run.base_url})",
                                          path, "l'URL à suivre (valeur sauvegardée) sort de la cible : le banc ne la suit pas"))
        return done
    client = run.client_for(step.request.auth, step.request.client_cert)
    answer = client.send(method, path, params=query, headers=headers, body=body, step=step.name, yaml_line=step.line)
    done.exchanges += answer.exchanges
    judges_refusal = any(check.kind == "refused" for check in step.checks)
    if answer.status is None and not (judges_refusal and answer.error_kind in REFUSALS):
        if answer.error_kind == "oauth":
            done.unjudged.append(f"jeton d'accès OAuth2 non obtenu (vérifier la section auth du profil de cible) : {answer.error}")
        else:
            done.failures.append(CheckFailure(step.name, step.line, "transport", "une réponse HTTP",
                                              f"{answer.error_kind}: {answer.error}", f"la cible n'a pas répondu : {answer.error}"))
        return done
    response = Response.of(answer)
    local_path, url_query = _split(path, run.base_url)
    ctx = StepContext(step=step.name, line=step.line, base_url=run.base_url, method=method, path=local_path,
                      query=url_query + query, exchange=answer.exchange, response=response,
                      services=StepServices(run, step.name, step.line),
                      transport_error=None if response is not None else f"{answer.error_kind}: {answer.error}")
    for check in step.checks:
        findings = _judge(check.kind, check.params, ctx, env)
        done.failures += [CheckFailure(step.name, check.line, f.check, f.expected, f.actual, f.message_fr, f.issues)
                          for f in findings if not f.inconclusive]
        done.unjudged += [f.message_fr for f in findings if f.inconclusive]
        if check.kind == "status" and findings:
            break  # the other checks would only repeat that the answer is not the one expected
    done.exchanges += ctx.more_exchanges
    if not done.failures and not done.unjudged:
        for save in step.saves:
            failure = _save(save, step, response, env)
            if failure:
                done.failures.append(failure)
    return done


def _credentials(request: Request, run: RunContext, headers: dict[str, str | None]) -> None:
    """The Authorization a step asks for beyond the defaults (auth: expired, or a connection
    without client certificate, which carries the token obtained with the certificate)."""
    if request.auth == "expired":
        if not run.profile.expired_token:
            raise StepAborted("jeton expiré absent du profil de la cible (expired_token_env)")
        headers["Authorization"] = f"Bearer {run.profile.expired_token}"
    elif not request.client_cert and request.auth not in ("none", "invalid"):
        tokens = run.client_for(request.auth, True).tokens
        if tokens is not None:
            try:
                headers["Authorization"] = f"Bearer {tokens.token()}"
            except TokenError as exc:
                raise StepAborted(f"jeton d'accès OAuth2 non obtenu (vérifier la section auth du profil de cible) : {exc}") from None


def _split(path: str, base_url: str) -> tuple[str, list[tuple[str, str]]]:
    """The path relative to the base URL and the query it carries (a saved absolute URL has both)."""
    parts = urlsplit(path)
    local = parts.path
    base_path = urlsplit(base_url).path.rstrip("/")
    if parts.scheme and base_path and local.startswith(base_path):
        local = local[len(base_path):]
    return local, parse_qsl(parts.query, keep_blank_values=True)


def _judge(kind: str, params: Any, ctx: StepContext, env: dict) -> list[Finding]:
    try:
        rendered = render(params, env)
    except MissingValue as exc:
        return [Finding(kind, f"la variable {exc.name}", "absente", f"variable {exc.name} absente", inconclusive=True)]
    return registry.get(kind).run(ctx, rendered)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _render_request(request: Request, env: dict) -> tuple[str, str, list[tuple[str, str]], dict[str, str | None], Any]:
    try:
        path = render(request.path, env)
        query = [(name, _text(render(value, env))) for name, value in request.query]
        headers: dict[str, str | None] = {k: _text(v) for k, v in render(request.headers, env).items()}
        body = render(_body(request), env)
    except MissingValue as exc:
        raise StepAborted(f"variable {exc.name} absente") from None
    if request.auth == "none":
        headers["Authorization"] = None
    elif request.auth == "invalid":
        headers["Authorization"] = f"Bearer {INVALID_TOKEN}"
    if not request.ror_headers:
        headers.update({name: None for name in ROR_HEADER_NAMES})
    return request.method, _text(path), query, headers, body


def _body(request: Request) -> Any:
    if request.body_file is None:
        return request.body
    try:
        text = request.body_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise StepAborted(f"fichier de corps illisible {request.body_file}: {exc.strerror or exc}") from None
    if request.body_file.suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise StepAborted(f"fichier de corps {request.body_file} : JSON invalide ({exc})") from None
    return text


def _save(save: Save, step: Step, response: Response | None, env: dict) -> CheckFailure | None:
    """Keep a value for later steps; a value the response does not hold fails the step."""
    value: Any = None
    what = f"en-tête {save.header}" if save.header else f"FHIRPath {save.expression}"
    if response is not None and save.header:
        value = response.header(save.header)
    elif response is not None and save.expression:
        try:
            values = default_engine().evaluate(save.expression, response.resource())
            value = values[0] if values else None
        except (NotJson, NotEvaluable):
            value = None
    if value is None:
        return CheckFailure(step.name, save.line, "save", f"une valeur pour {save.name} ({what})", "rien",
                            f"la réponse ne contient pas la valeur à conserver « {save.name} » ({what})")
    env["saved"][save.name] = value
    return None
