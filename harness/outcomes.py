"""What a scenario run produces: the contract between the engine and the reporters.

Data flows one way: scenario file -> loaded model -> pytest item -> HTTP exchanges -> checks ->
`ScenarioResult` -> reporters (console, Allure, JUnit, JSON summary). Reporters only ever see
these objects, already redacted, so no reporter can leak a secret or depend on engine internals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Outcome(str, Enum):
    """The four verdicts of a scenario.

    INCONCLUSIVE is the harness's own infrastructure failing (terminology server down, a
    fixture missing, the harness crashing): never a red mark on the candidate.
    """

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    INCONCLUSIVE = "inconclusive"


PRIORITY_LABELS = {1: "critique", 2: "majeur", 3: "mineur"}


@dataclass(frozen=True)
class RecordedRequest:
    """A request as sent, secrets already redacted."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None = None


@dataclass(frozen=True)
class RecordedResponse:
    """A response as received (body possibly truncated to the configured limit), redacted."""

    status: int
    headers: dict[str, str]
    body: str | None
    elapsed_ms: float
    truncated: bool = False


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange of one step (several for a paging walk)."""

    step: str  # the step's name in the scenario
    yaml_line: int  # where the step starts in the scenario file
    request: RecordedRequest
    response: RecordedResponse | None  # None: no answer (timeout, connection refused, ...)
    error: str | None = None  # transport failure, in words
    curl: str = ""  # a command line replaying the request (redacted)


@dataclass(frozen=True)
class CheckFailure:
    """A check that did not hold, in the scenario's own terms."""

    step: str
    yaml_line: int
    check: str  # the check kind, e.g. "status", "validate", "search.matches"
    expected: str
    actual: str
    message_fr: str  # the explanation the report shows
    issues: tuple[dict, ...] = ()  # validation issues (severity, id, expression, message, message_fr)


@dataclass
class ScenarioResult:
    """The verdict on one scenario, with everything a reader needs to understand it."""

    id: str  # stable id, ROR-SRV-NNN / ROR-CNS-NNN
    title: str  # French
    priority: int  # 1 critique, 2 majeur, 3 mineur
    role: str  # server | consumer
    outcome: Outcome
    duration_s: float
    source: str = ""  # scenario file path
    requirements: list[str] = field(default_factory=list)
    area: str = ""  # the catalogue grouping (epic/feature in Allure)
    failures: list[CheckFailure] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    reason: str = ""  # why skipped or inconclusive (and what would make it run)

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS.get(self.priority, str(self.priority))


def platines_score(results: list[ScenarioResult]) -> int:
    """PLATINES-style score: 100 - 100 per critique failure - 50 per majeur - 25 per mineur, floored at 0.

    Only FAILED counts: a skipped or inconclusive scenario says nothing about the candidate.
    """
    weights = {1: 100, 2: 50, 3: 25}
    lost = sum(weights.get(r.priority, 0) for r in results if r.outcome is Outcome.FAILED)
    return max(0, 100 - lost)
