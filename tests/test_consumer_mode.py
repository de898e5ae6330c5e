"""Consumer mode: the recording mock, the consumer scenario language, and the proof that each
consumer scenario passes with the example consumer and fails with the faulty variant it names."""
from __future__ import annotations

import ssl
import sys
from pathlib import Path

import pytest

from harness.fhir.validation import Validator
from harness.mock.drivers import CommandDriver
from harness.mock.run import run_consumer_scenario
from harness.mock.server import MockServers
from harness.outcomes import Outcome
from harness.pytest_plugin.catalogue import load_catalogue
from harness.pytest_plugin.embedded import facts_of
from harness.pytest_plugin.plugin import BUNDLED_SCENARIOS
from harness.report.events import EventHub
from harness.scenario import FileError, load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "consumer" / "ror_consumer.py"
SCENARIOS = [s for s in load_catalogue([BUNDLED_SCENARIOS]).scenarios if s.role == "consumer"]
PROOFS = [(s, p.fault) for s in SCENARIOS for p in s.proven_by]


@pytest.fixture(scope="module")
def mock():
    servers = MockServers()
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def validator():
    made: list[Validator] = []
    return lambda: made[0] if made else made.append(Validator()) or made[0]


def _run(scenario, mock, validator, faults=()):
    command = f"{sys.executable} {EXAMPLE}" + "".join(f" --fault {f}" for f in faults)
    return run_consumer_scenario(scenario, mock, CommandDriver(command), facts_of("small", 0), EventHub(), validator)


def test_every_consumer_scenario_names_a_proof():
    assert SCENARIOS and all(s.proven_by for s in SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_example_consumer_passes(scenario, mock, validator):
    result = _run(scenario, mock, validator)
    assert result.outcome is Outcome.PASSED, [(f.step, f.check, f.actual, f.message_fr) for f in result.failures] or result.reason
    assert result.exchanges and all(e.step != "requête inattendue" for e in result.exchanges)


@pytest.mark.parametrize(("scenario", "fault"), PROOFS, ids=lambda v: getattr(v, "id", v))
def test_faulty_consumer_is_caught(scenario, fault, mock, validator):
    result = _run(scenario, mock, validator, [fault])
    assert result.outcome is Outcome.FAILED, f"{scenario.id} does not catch {fault}"


def test_exchanges_are_redacted(mock, validator):
    scenario = next(s for s in SCENARIOS if s.id == "ROR-CNS-005")
    result = _run(scenario, mock, validator)
    text = repr(result.exchanges)
    assert mock.credentials.client_secret not in text and "Bearer ey" not in text


def test_mock_without_misbehaviour_answers_as_refserver(mock):
    import httpx

    server, creds = mock.get(), mock.credentials
    with httpx.Client(verify=ssl.create_default_context(cafile=creds.ca_bundle)) as client:
        token = client.post(server.token_url, data={"grant_type": "client_credentials"},
                            auth=(creds.client_id, creds.client_secret)).json()["access_token"]
        answer = client.get(f"{server.base_url}/Organization", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400  # the Ror-* headers are missing: the reference server's own answer
    calls = server.recorder.take()
    assert [(c.method, c.path, c.status, c.misbehaviour) for c in calls] == [
        ("POST", "/token", 200, ""), ("GET", "/Organization", 400, "")]


def test_consumer_scenario_problems_are_located(tmp_path):
    path = tmp_path / "ROR-CNS-900-x.yaml"
    path.write_text("id: ROR-CNS-900\ntitle: essai\npriority: 1\nrole: consumer\nrequirements: [x]\n"
                    "steps:\n  - name: a\n    request: {method: GET, path: /x}\n", encoding="utf-8")
    with pytest.raises(FileError) as err:
        load(path)
    text = str(err.value)
    assert "consumer" in text and "expect_request" in text
