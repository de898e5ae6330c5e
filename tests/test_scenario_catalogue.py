"""The bundled scenarios against the reference server: every one passes against the clean
server, and every fault a scenario claims to catch (proven_by) makes it fail on the step
it names. This is what makes a scenario trustworthy: it has been seen to fail."""
from __future__ import annotations

from collections import defaultdict

import pytest

from harness.outcomes import Outcome
from harness.pytest_plugin.catalogue import load_catalogue
from harness.pytest_plugin.embedded import EmbeddedTarget
from harness.pytest_plugin.execute import run_scenario
from harness.pytest_plugin.plugin import BUNDLED_SCENARIOS
from harness.pytest_plugin.session import RunContext
from harness.refserver.faults import unknown_faults
from harness.report.events import EventHub
from harness.report.wording import verdict_text

SCENARIOS = [s for s in load_catalogue([BUNDLED_SCENARIOS]).scenarios if s.role == "server"]
PROOFS = defaultdict(list)
for _scenario in SCENARIOS:
    for _proof in _scenario.proven_by:
        PROOFS[_proof.fault].append((_scenario, _proof.step))


def run_all(faults: frozenset[str], scenarios: list) -> list:
    target = EmbeddedTarget(faults=faults)
    context = RunContext(target.profile)
    try:
        return [run_scenario(scenario, context, EventHub()) for scenario in scenarios]
    finally:
        context.close()
        target.stop()


def test_proofs_name_known_faults():
    assert sorted(unknown_faults(PROOFS)) == []


def test_every_scenario_passes_against_the_clean_reference_server():
    results = run_all(frozenset(), SCENARIOS)
    wrong = {r.id: f"{r.outcome.value}: {verdict_text(r)}" for r in results if r.outcome is not Outcome.PASSED}
    assert wrong == {}


@pytest.mark.parametrize("fault", sorted(PROOFS))
def test_each_declared_fault_is_caught_on_its_step(fault):
    cases = PROOFS[fault]
    results = run_all(frozenset({fault}), [scenario for scenario, _ in cases])
    for (scenario, step), result in zip(cases, results):
        assert result.outcome is Outcome.FAILED, f"{scenario.id} under {fault}: {result.outcome.value} {result.reason}"
        assert {f.step for f in result.failures} == {step}, f"{scenario.id} under {fault}: {verdict_text(result)}"
