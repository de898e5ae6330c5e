"""Steps that use other credentials than the profile's default ones: an expired token, the
profile-0 / read-only client, a connection without the TLS client certificate (check
`refused`); and the skip that names what the target profile lacks."""
from __future__ import annotations

import textwrap

import pytest
from checks_support import context, response

from harness.checks import registry
from harness.outcomes import Outcome
from harness.pytest_plugin.embedded import EmbeddedTarget
from harness.pytest_plugin.execute import run_scenario
from harness.pytest_plugin.session import RunContext
from harness.report.events import EventHub
from harness.scenario import load
from harness.scenario.target import load_target

SCENARIO = """\
id: ROR-SRV-990
title: Identifiants de test
priority: 1
role: server
requirements: [http://hl7.org/fhir/R4/http.html]
steps:
  - name: jeton expiré
    request: {method: GET, path: /Task, auth: expired}
    expect: {status: 401}
  - name: profil 0 en lecture
    request: {method: GET, path: /Task, query: [{_count: 1}], auth: profile0}
    expect: {status: 200}
  - name: écriture en lecture seule
    request: {method: POST, path: /Task, auth: read_only, body: {resourceType: Task}}
    expect: {status: 403}
  - name: sans certificat client
    request: {method: GET, path: /Task, client_cert: false}
    expect: {refused: true}
"""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("scen") / "ROR-SRV-990-essai.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return load(path)


def run(target_profile, scenario):
    context = RunContext(target_profile)
    try:
        return run_scenario(scenario, context, EventHub())
    finally:
        context.close()


def test_the_steps_name_the_credentials_they_need(scenario):
    assert scenario.requires.credentials == ("auth_profile0", "auth_read_only", "client_cert", "expired_token")


def test_against_the_embedded_mtls_target_every_credential_is_there(scenario, tmp_path):
    target = EmbeddedTarget()
    try:
        assert target.profile.settings.base_url.startswith("https://")
        result = run(target.profile, scenario)
        assert result.outcome is Outcome.PASSED, result.failures
        again = load_target(target.write_profile(tmp_path / "target.yaml"))  # what xdist workers read
        assert again.expired_token == target.profile.expired_token and set(again.other_auth) == {"profile0", "read_only"}
        assert again.settings.client_cert == target.profile.settings.client_cert
        assert run(again, scenario).outcome is Outcome.PASSED
    finally:
        target.stop()


def test_a_target_without_client_certificate_skips_saying_what_to_add(scenario):
    target = EmbeddedTarget(tls=False)
    try:
        result = run(target.profile, scenario)
        assert result.outcome is Outcome.SKIPPED
        assert "tls.client_cert" in result.reason and "auth_profile0" not in result.reason
    finally:
        target.stop()


def test_refused_accepts_401_403_and_a_refusal_only():
    check = registry.get("refused")
    assert check.run(context(response(401, {"resourceType": "OperationOutcome"})), True) == []
    assert check.run(context(response(403, {"resourceType": "OperationOutcome"})), True) == []
    assert check.run(context(None), True) == []  # the engine lets only TLS / connection refusals through
    [finding] = check.run(context(response(200, {"resourceType": "Bundle"})), True)
    assert finding.actual == "HTTP 200" and "refusée" in finding.message_fr


def test_a_port_where_nothing_listens_is_not_a_refusal(tmp_path):
    from plugin_support import dead_port

    path = tmp_path / "ROR-SRV-991-essai.yaml"
    path.write_text(textwrap.dedent("""\
        id: ROR-SRV-991
        title: Refus
        priority: 1
        role: server
        requirements: [http://hl7.org/fhir/R4/http.html]
        steps:
          - name: refus attendu
            request: {method: GET, path: /metadata}
            expect: {refused: true}
        """), encoding="utf-8")
    from harness.http import ClientSettings
    from harness.scenario.target import TargetProfile

    result = run(TargetProfile(ClientSettings(base_url=f"http://127.0.0.1:{dead_port()}")), load(path))
    assert result.outcome is Outcome.FAILED and result.failures[0].check == "transport"
