"""ScenarioResult <-> plain data, so a result crosses from a pytest-xdist worker to the
controller inside the test report (whose extra attributes xdist serialises as plain data).

The controller owns the run-level reporters (console, JSON, JUnit); it needs every result
whole, exchanges included, whichever process ran the scenario.
"""
from __future__ import annotations

from dataclasses import asdict

from harness.outcomes import CheckFailure, Exchange, Outcome, RecordedRequest, RecordedResponse, ScenarioResult


def to_data(result: ScenarioResult) -> dict:
    data = asdict(result)
    data["outcome"] = result.outcome.value
    return data


def _exchange(data: dict) -> Exchange:
    response = data["response"]
    return Exchange(step=data["step"], yaml_line=data["yaml_line"], request=RecordedRequest(**data["request"]),
                    response=RecordedResponse(**response) if response is not None else None,
                    error=data["error"], curl=data["curl"])


def from_data(data: dict) -> ScenarioResult:
    fields = dict(data)
    fields["outcome"] = Outcome(data["outcome"])
    fields["failures"] = [CheckFailure(**{**f, "issues": tuple(f["issues"])}) for f in data["failures"]]
    fields["exchanges"] = [_exchange(e) for e in data["exchanges"]]
    return ScenarioResult(**fields)
