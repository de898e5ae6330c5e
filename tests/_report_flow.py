"""A small end-to-end run through every reporter, executed by tests in a child pytest (`--alluredir`).

Not collected by the main test run (its name does not start with `test_`). A loopback HTTPS
server demands mutual TLS and an OAuth2 token, and is careless on purpose: it echoes the
Authorization header in a diagnostic, sets a session cookie and leaks the token in a body. The
"engine" below is careless too: it copies raw answers into `actual` and a reason. The reporters
must still write no secret. Outputs go to $ROR_FLOW_OUT (summary.json, junit.xml, console.txt,
console.txt); the secrets to look for go to $ROR_FLOW_SECRETS; the Allure results go where
--alluredir says.
"""
from __future__ import annotations

import io
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _certs import make_pki
from _loopback import Loopback, Request, respond, serve
from harness.http import ClientSettings, OAuth2Settings, RorHeaders, TargetClient
from harness.outcomes import CheckFailure, Outcome, ScenarioResult, platines_score
from harness.report.allure import AllureReporter
from harness.report.console import ConsoleReporter
from harness.report.events import (EventHub, RunFinished, RunStarted, ScenarioFinished, ScenarioStarted,
                                   StepFinished)
from harness.report.json_summary import JsonSummaryWriter
from harness.report.junit import JUnitWriter
from harness.report.wording import verdict_text

CLIENT_SECRET = "flow-client-secret-5e1f0a77"
TOKEN = "flow-access-token-c0ffee-0123456789"
COOKIE = "flow-session-cookie-77aa"
OUT = Path(os.environ.get("ROR_FLOW_OUT", "flow-out"))
SECRETS = Path(os.environ.get("ROR_FLOW_SECRETS", "flow-secrets.json"))


def _api(request: Request, sock: socket.socket, server: Loopback) -> None:
    if request.target == "/token":
        ok = CLIENT_SECRET in request.body.decode() or "authorization" in request.headers
        body = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600} if ok else {"error": "x"}
        respond(sock, 200 if ok else 401, json.dumps(body).encode(), {"Content-Type": "application/json"})
        return
    auth = request.headers.get("authorization", "")
    if auth != f"Bearer {TOKEN}":
        respond(sock, 401, b"")
    elif request.target.startswith("/fhir/metadata"):
        respond(sock, 200, b'{"resourceType": "CapabilityStatement", "status": "active", "kind": "instance"}',
                {"Content-Type": "application/fhir+json"})
    elif request.target.startswith("/fhir/Organization"):
        body = {"resourceType": "Bundle", "type": "searchset", "total": 1,
                "entry": [{"resource": {"resourceType": "OperationOutcome", "issue": [
                    {"severity": "information", "code": "informational", "diagnostics": f"received {auth}",
                     "details": {"text": f'{{"access_token": "{TOKEN}"}}'}}]}}]}
        respond(sock, 200, json.dumps(body).encode(), {"Content-Type": "application/fhir+json; charset=ISO-8859-1",
                                                       "Set-Cookie": f"session={COOKIE}; HttpOnly"})
    else:
        respond(sock, 200, f"<html>Erreur interne, jeton {TOKEN}</html>".encode(), {"Content-Type": "text/html"})


SCENARIOS = [
    ("ROR-SRV-001", "Lire la déclaration de capacité du serveur", 1, "capability", "metadata", None),
    ("ROR-SRV-002", "Rechercher une organisation par son nom", 2, "search", "Organization", "failed"),
    ("ROR-SRV-003", "Paginer une recherche de praticiens", 3, "paging", "Practitioner", "failed"),
    ("ROR-SRV-004", "Exporter les données en masse ($export)", 3, "bulk-export", None, "skipped"),
    ("ROR-SRV-005", "Valider les nomenclatures NOS des lieux", 1, "terminology", None, "inconclusive"),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[dict]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    console = io.StringIO()
    hub = EventHub([ConsoleReporter(console), JsonSummaryWriter(OUT / "summary.json"),
                    JUnitWriter(OUT / "junit.xml"), AllureReporter(pytestconfig.getoption("allure_report_dir"))])
    with serve(_api, tls=pki.server_context(require_client_cert=True)) as server:
        settings = ClientSettings(
            server.url + "/fhir", ca_bundle=str(pki.ca_cert), client_cert=str(pki.client_cert),
            client_key=str(pki.client_key), client_key_password=pki.client_key_password,
            oauth2=OAuth2Settings(server.url + "/token", "ror-harness", CLIENT_SECRET, "ror.read"),
            ror_headers=RorHeaders("PROFIL-X", "https://mos.esante.gouv.fr/x", "ROLE-Y", "https://mos.esante.gouv.fr/y"),
            total_timeout_s=10)
        started = time.monotonic()
        hub.emit(RunStarted(settings.base_url, "ans.fhir.fr.ror#0.7.0", "server", "2025-01-01T00:00:00+00:00"))
        state = {"hub": hub, "client": TargetClient(settings), "results": []}
        yield state
        state["client"].close()
        results = state["results"]
        hub.emit(RunFinished(tuple(results), platines_score(results), time.monotonic() - started, 1,
                             {"client_secret": CLIENT_SECRET, "note": f"Bearer {TOKEN}"}))
    keys = [pki.client_key.read_text(), pki.server_key.read_text()]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "console.txt").write_text(console.getvalue(), encoding="utf-8")
    SECRETS.write_text(json.dumps({"secrets": [CLIENT_SECRET, TOKEN, COOKIE, pki.client_key_password],
                                                  "keys": keys}), encoding="utf-8")
    assert not hub.errors, hub.errors


@pytest.mark.parametrize("sid, title, priority, area, path, verdict", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario(run: dict, sid: str, title: str, priority: int, area: str, path: str | None,
                  verdict: str | None) -> None:
    hub, client = run["hub"], run["client"]
    requirements = ("ror_api.html#recherche", "https://interop.esante.gouv.fr/ig/fhir/ror/SearchParameter/x")
    hub.emit(ScenarioStarted(sid, title, priority, "server", area, f"scenarios/server/{sid}.yaml", requirements))
    started = time.monotonic()
    exchanges, failures = [], []
    if path:
        result = client.send("GET", path, params=[("name", "Clinique"), ("access_token", TOKEN)],
                             step="rechercher", yaml_line=14)
        exchanges = list(result.exchanges)
        if verdict == "failed":
            failures.append(CheckFailure(
                "rechercher", 14, "validate", "un Bundle conforme au profil RORBundle",
                f"{result.text[:300]} (Authorization: Bearer {TOKEN})",
                f"La réponse n'est pas conforme ; en-têtes reçus : {result.headers}",
                ({"severity": "error", "id": "cardinality-min", "expression": "Bundle.entry[0].resource",
                  "message": f"min 1, token {TOKEN}", "message_fr": "Élément obligatoire absent"},)))
        hub.emit(StepFinished(sid, "rechercher", 14, tuple(exchanges), tuple(failures)))
    outcome = Outcome(verdict or "passed")
    reason = {"skipped": "le serveur ne déclare pas $export dans son CapabilityStatement",
              "inconclusive": f"serveur de terminologie injoignable (client_secret={CLIENT_SECRET})"}.get(verdict or "", "")
    scenario = ScenarioResult(sid, title, priority, "server", outcome, time.monotonic() - started,
                              f"scenarios/server/{sid}.yaml", list(requirements), area, failures, exchanges, reason)
    run["results"].append(scenario)
    hub.emit(ScenarioFinished(scenario))
    # What the engine should do: tell pytest the outcome in the reports' (redacted) words.
    if outcome is Outcome.FAILED:
        pytest.fail(verdict_text(scenario), pytrace=False)
    if outcome is Outcome.SKIPPED:
        pytest.skip(verdict_text(scenario))
    if outcome is Outcome.INCONCLUSIVE:
        raise RuntimeError("non concluant : " + verdict_text(scenario))
