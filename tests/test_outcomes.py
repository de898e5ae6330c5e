"""The PLATINES-style score counts failures by priority only."""
from harness.outcomes import Outcome, ScenarioResult, platines_score


def _r(priority: int, outcome: Outcome) -> ScenarioResult:
    return ScenarioResult(id="ROR-SRV-000", title="t", priority=priority, role="server", outcome=outcome, duration_s=0)


def test_score_weights_and_floor():
    assert platines_score([_r(1, Outcome.PASSED), _r(3, Outcome.SKIPPED)]) == 100
    assert platines_score([_r(2, Outcome.FAILED), _r(3, Outcome.FAILED)]) == 25
    assert platines_score([_r(1, Outcome.FAILED), _r(2, Outcome.FAILED)]) == 0
    assert platines_score([_r(1, Outcome.INCONCLUSIVE)]) == 100
