"""What one process of a run shares between consumer scenarios: the mocks, the driver of the
consumer under test, the facts of the mock's dataset and the validator.

Which consumer is tested is decided once, from the options (`consumer_driver`): a command, a
person (interactive), or, when nothing is named and the run has no target of its own, the example
consumer shipped in the repository, so that the default run shows the whole job.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from harness.fhir.validation import Validator
from harness.mock.drivers import CommandDriver, Driver, InteractiveDriver
from harness.mock.run import run_consumer_scenario
from harness.mock.server import MockServers
from harness.outcomes import ScenarioResult
from harness.pytest_plugin.embedded import facts_of
from harness.report.events import EventHub
from harness.scenario.model import Scenario

#: The example consumer (a source checkout or an editable install).
EXAMPLE_CONSUMER = Path(__file__).resolve().parents[2] / "examples" / "consumer" / "ror_consumer.py"
#: Why consumer scenarios are skipped when no consumer is named (French, shown in reports).
NO_CONSUMER = ("aucun consommateur à tester : donner --consumer-cmd \"COMMANDE {base_url}\" ou --interactive "
               "(docs/consumer-mode.md)")


def example_command() -> str | None:
    return f'"{sys.executable}" "{EXAMPLE_CONSUMER}"' if EXAMPLE_CONSUMER.is_file() else None


def consumer_label(command: str | None, interactive: bool, example: bool) -> str:
    """Who plays the consumer, in the reports' words; the same order as consumer_driver, from the
    options alone (the controller under pytest-xdist starts no mock)."""
    if interactive:
        return "application pilotée à la main (mode interactif)"
    if command:
        return f"commande « {command} »"
    if example and example_command():
        return "consommateur d'exemple (examples/consumer/ror_consumer.py)"
    return "aucun"


def consumer_driver(command: str | None, interactive: bool, example: bool, folder: Path,
                    write: Callable[[str], None] | None = None, wait_s: float = 300.0) -> Driver | None:
    """The driver the options name (None: consumer scenarios are skipped with NO_CONSUMER)."""
    if interactive:
        return InteractiveDriver(folder, write, wait_s=wait_s)
    command = command or (example_command() if example else None)
    return CommandDriver(command) if command else None


class ConsumerRun:
    """The consumer side of one process; `close()` it at the end of the run."""

    def __init__(self, driver: Driver, ig: str | None = None, dataset: str = "small", seed: int = 0) -> None:
        self.driver, self.ig = driver, ig
        self.mocks = MockServers(dataset, seed)
        self.facts = facts_of(dataset, seed)
        self._validator: Validator | None = None

    def validator(self) -> Validator:
        if self._validator is None:
            self._validator = Validator(self.ig)
        return self._validator

    def run(self, scenario: Scenario, hub: EventHub) -> ScenarioResult:
        return run_consumer_scenario(scenario, self.mocks, self.driver, self.facts, hub, self.validator)

    def close(self) -> None:
        self.mocks.stop()
