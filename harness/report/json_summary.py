"""The machine-readable summary of a run (`summary.json`), described by `summary.schema.json`.

For CI gates and dashboards: everything needed to decide and to explain (outcomes, failures
with their YAML line, reasons, counts, score, exit code), nothing bulky (bodies stay in Allure).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import __version__
from harness.outcomes import CheckFailure, ScenarioResult
from harness.redaction import redact_json
from harness.report.events import RunFinished, RunStarted
from harness.report.files import RunFileWriter
from harness.report.wording import counts

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
SCHEMA_VERSION = 1


def _failure(failure: CheckFailure) -> dict[str, Any]:
    return {"step": failure.step, "yaml_line": failure.yaml_line, "check": failure.check,
            "expected": failure.expected, "actual": failure.actual, "message_fr": failure.message_fr,
            "issues": [dict(issue) for issue in failure.issues]}


def _scenario(result: ScenarioResult) -> dict[str, Any]:
    return {"id": result.id, "title": result.title, "priority": result.priority,
            "priority_label": result.priority_label, "role": result.role, "area": result.area,
            "source": result.source, "requirements": list(result.requirements), "outcome": result.outcome.value,
            "duration_s": round(result.duration_s, 3), "reason": result.reason,
            "failures": [_failure(failure) for failure in result.failures],
            "requests": len(result.exchanges)}


def build_summary(started: RunStarted | None, finished: RunFinished) -> dict[str, Any]:
    """The summary document (redacted), valid against summary.schema.json."""
    run = {"target": started.target if started else "", "ig": started.ig if started else "",
           "role": started.role if started else "", "started_at": started.started_at if started else "",
           "duration_s": round(finished.duration_s, 3), "harness_version": __version__}
    document = {"schema_version": SCHEMA_VERSION, "run": run, "counts": counts(finished.results),
                "score": finished.score, "exit_code": finished.exit_code,
                "scenarios": [_scenario(result) for result in finished.results],
                "extras": json.loads(json.dumps(finished.extras, default=str))}
    return redact_json(document)


class JsonSummaryWriter(RunFileWriter):
    def render(self, started: RunStarted | None, finished: RunFinished) -> bytes:
        text = json.dumps(build_summary(started, finished), ensure_ascii=False, indent=2) + "\n"
        # A lone surrogate (from a "\ud800" in a server's JSON) is written back as the same JSON escape.
        return text.encode("utf-8", errors="backslashreplace")
