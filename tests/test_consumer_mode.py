"""Consumer mode: the recording mock, the consumer scenario language, and the proof that each
consumer scenario passes with the example consumer and fails with the faulty variant it names."""
from __future__ import annotations

import dataclasses
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.fhir.validation import Validator
from harness.mock.drivers import CommandDriver
from harness.mock.judge import classify, judge
from harness.mock.recorder import Call
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


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--role", "consumer", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _exports(path: str) -> dict[str, str]:
    return {k: v for k, _, v in (shlex.split(line)[1].partition("=") for line in Path(path).read_text().splitlines())}


def test_interactive_mode_judges_an_application_run_by_hand(tmp_path):
    run = _cli("--interactive", "--consumer-wait", "60", "--scenario", "ROR-CNS-005", "--json", str(tmp_path / "s.json"))
    shown = []
    for line in run.stderr:  # the instructions, then the file holding the variables
        shown.append(line)
        if "source " in line:
            break
    env_file = shown[-1].split("source ", 1)[1].strip()
    env = _exports(env_file)
    assert os.stat(env_file).st_mode & 0o077 == 0 and env["ROR_TASK"] == "extract"
    assert env["ROR_CLIENT_SECRET"] not in "".join(shown)  # the secret stays in the file
    person = subprocess.run([sys.executable, str(EXAMPLE)], env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=60, check=False)
    assert person.returncode == 0, person.stderr
    out, _ = run.communicate(timeout=120)
    assert run.returncode == 0 and "1 passed" in out, out
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert summary["run"]["target"] == "application pilotée à la main (mode interactif)"


def test_interactive_mode_without_requests_fails_in_bounded_time():
    run = _cli("--interactive", "--consumer-wait", "1", "--scenario", "ROR-CNS-005")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1 and "aucune requête reçue en 1 s" in out, out + err


def test_consumer_scenarios_are_skipped_when_no_consumer_is_named(tmp_path):
    from harness.mock.session import NO_CONSUMER
    from harness.pytest_plugin.execute import skip_scenario

    result = skip_scenario(SCENARIOS[0], NO_CONSUMER, EventHub())
    assert result.outcome is Outcome.SKIPPED and "--consumer-cmd" in result.reason


def _spec(steps: str, mock: str = "") -> object:
    from harness.scenario.consumer import build
    from harness.scenario.yamlsource import parse

    text = ("id: ROR-CNS-901\ntitle: essai\npriority: 2\nrole: consumer\nrequirements: [x]\nproven_by: [f]\n"
            "consumer: {task: capacity, instructions: essai}\n" + mock + "steps:\n" + steps)
    return build(parse(text, "essai.yaml"))


PATCHES = ("  - name: replace\n    expect_request: {method: PATCH, path: /Location, where: \"parameter.part.where(name = 'type').value = 'replace'\"}\n"
           "  - name: add\n    expect_request: {method: PATCH, path: /Location, where: \"parameter.part.where(name = 'type').value = 'add'\", after: replace}\n")


def _patch(index: int, kind: str) -> Call:
    body = json.dumps({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": kind}]}]}).encode()
    return Call(index, index, index + 0.1, "PATCH", "/Location", [("identifier", "x")], {}, body, status=200)


def test_where_tells_apart_requests_with_the_same_address_and_after_checks_their_order():
    spec = _spec(PATCHES)
    good = [_patch(0, "replace"), _patch(1, "add")]
    classing = classify(spec, good)
    assert [len(classing.matched[n]) for n in ("replace", "add")] == [1, 1] and judge(spec, good, classing, None) == []
    swapped = [_patch(0, "add"), _patch(1, "replace")]
    failures = judge(spec, swapped, classify(spec, swapped), None)
    assert [(f.step, f.check) for f in failures] == [("add", "request.order")]


def test_no_request_on_mutual_tls_names_the_handshake():
    spec = _spec("  - name: lire\n    expect_request: {method: GET, path: /Organization}\n", "mock: {client_cert: required}\n")
    checks = {f.check for f in judge(spec, [], classify(spec, []), None)}
    assert checks == {"request.count", "request.tls"}


def test_after_must_name_another_step(tmp_path):
    path = tmp_path / "ROR-CNS-902-x.yaml"
    path.write_text("id: ROR-CNS-902\ntitle: essai\npriority: 1\nrole: consumer\nrequirements: [x]\nproven_by: [f]\n"
                    "consumer: {task: extract, instructions: essai}\nsteps:\n"
                    "  - name: a\n    expect_request: {method: GET, path: /x, after: b}\n", encoding="utf-8")
    with pytest.raises(FileError) as err:
        load(path)
    assert ":10: steps[0].expect_request.after: 'b' is not the name of another step" in str(err.value)


def test_a_body_that_is_not_a_resource_fails_the_step_instead_of_breaking_the_judge():
    spec = _spec("  - name: patch\n    expect_request:\n      method: PATCH\n      path: /Location\n"
                 "      body: {fhirpath: [{expr: \"resourceType = 'Parameters'\"}]}\n")
    call = Call(0, 0, 0.1, "PATCH", "/Location", [], {}, b'[{"op": "add", "path": "/extension/-"}]', status=200)
    failures = judge(spec, [call], classify(spec, [call]), None)
    assert [(f.check, f.message_fr) for f in failures] == [
        ("request.body", "le corps de PATCH /Location (réponse 200) n'est pas une ressource FHIR")]


def test_one_of_accepts_any_listed_value():
    spec = _spec("  - name: lire\n    expect_request: {method: GET, path: /Location, query: {near: {one_of: [a|1, a|1|km]}}}\n")
    calls = [Call(0, 0, 0.1, "GET", "/Location", [("near", "a|1|km")], {}, b"", status=200),
             Call(1, 1, 1.1, "GET", "/Location", [("near", "a|1|m")], {}, b"", status=200)]
    classing = classify(spec, calls)
    assert [c.index for c in classing.matched["lire"]] == [0] and [c.index for c in classing.unexpected] == [1]


def test_every_fault_of_the_example_consumer_is_caught_by_a_scenario():
    listing = subprocess.run([sys.executable, str(EXAMPLE), "--list-faults"], capture_output=True, text=True, check=True)
    faults = {line.split()[0] for line in listing.stdout.splitlines()}
    assert faults == {p.fault for s in SCENARIOS for p in s.proven_by}


def test_a_missing_consumer_program_is_a_usage_error_before_anything_runs():
    run = _cli("--consumer-cmd", "no-such-consumer-program {base_url}")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 2 and out == "" and "no-such-consumer-program" in err


def test_a_consumer_that_hangs_or_floods_is_stopped_in_bounded_time(mock, validator):
    from harness.mock.drivers import MAX_OUTPUT_BYTES

    scenario = next(s for s in SCENARIOS if s.id == "ROR-CNS-005")
    flood = f"{sys.executable} -c \"import sys, time; sys.stdout.write('x' * {3 * MAX_OUTPUT_BYTES}); time.sleep(600)\""
    short = dataclasses.replace(scenario, consumer=dataclasses.replace(scenario.consumer, timeout_s=2))
    started = time.monotonic()
    result = run_consumer_scenario(short, mock, CommandDriver(flood), facts_of("small", 0), EventHub(), validator)
    assert time.monotonic() - started < 20 and result.outcome is Outcome.FAILED
    assert any(f.check == "consumer.stopped" and "2 s" in f.actual for f in result.failures)
