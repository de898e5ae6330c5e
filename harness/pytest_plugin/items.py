"""Scenario files and scenario items: how pytest sees a scenario.

A broken file is a collection error whose text is the located problems (file:line: field:
message), never a traceback. A failed scenario's pytest report reads in the scenario's own
terms: the step, its YAML line, what was expected, what came back, the validation issues,
the curl line to replay the request.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.mock.session import NO_CONSUMER
from harness.outcomes import Outcome, ScenarioResult
from harness.pytest_plugin.execute import run_scenario, skip_scenario
from harness.report.wording import verdict_text
from harness.scenario import FileError, Problem, Scenario, load

if TYPE_CHECKING:
    from harness.pytest_plugin.plugin import RorRun

ID_OWNERS = pytest.StashKey[dict]()


class ScenarioFailed(AssertionError):
    """The scenario failed: its result says why. An AssertionError, so that Allure files it as
    "failed" (the candidate's fault) and not "broken" (kept for inconclusive: the harness's own)."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.id)
        self.result = result


class ScenarioInconclusive(Exception):
    """The harness could not judge the scenario (reported as skipped with outcome inconclusive)."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.reason)
        self.result = result


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        root = self.config.rootpath
        scenario = load(self.path, self.path.relative_to(root).as_posix() if self.path.is_relative_to(root) else None)
        owners = self.session.stash.setdefault(ID_OWNERS, {})
        first = owners.setdefault(scenario.id, scenario.source)
        if first != scenario.source:
            raise FileError([Problem(scenario.source, scenario.line, "id", f"{scenario.id} is already the id of {first}")])
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)  # type: ignore[arg-type]


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: ScenarioResult | None = None
        # -k matches ids and these words: area, role, priorityN and the IG scenario keys
        self.extra_keyword_matches.update(w for w in (scenario.area, scenario.role, f"priority{scenario.priority}",
                                                      *scenario.ig_scenarios) if w)

    def runtest(self) -> None:
        run: RorRun = self.config.pluginmanager.get_plugin("ror-harness-run")
        if self.scenario.role == "consumer":
            consumer = run.consumer()
            self.result = consumer.run(self.scenario, run.item_hub) if consumer else \
                skip_scenario(self.scenario, NO_CONSUMER, run.item_hub)
        else:
            self.result = run_scenario(self.scenario, run.context(), run.item_hub)
        if self.result.outcome is Outcome.FAILED:
            raise ScenarioFailed(self.result)
        if self.result.outcome is Outcome.SKIPPED:
            pytest.skip(self.result.reason)
        if self.result.outcome is Outcome.INCONCLUSIVE:
            raise ScenarioInconclusive(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return failure_report(excinfo.value.result)
        return super().repr_failure(excinfo, style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, self.scenario.line - 1, f"{self.scenario.id} {self.scenario.title}"


def failure_report(result: ScenarioResult) -> str:
    """The failure text of the shared wording, then the curl line of each request of the failed step."""
    text = f"{result.id} — {result.title} ({result.source})\n" + verdict_text(result)
    failed_steps = {f.step for f in result.failures}
    curls = [e.curl for e in result.exchanges if e.step in failed_steps and e.curl]
    if curls:
        text += "\n  rejouer :\n" + "\n".join(f"    {c}" for c in curls[:5])
    return text
