"""Rules on a scenario's steps shared by server and consumer scenarios."""
from __future__ import annotations

from harness.scenario.errors import Problem
from harness.scenario.yamlsource import Document


def duplicate_step_names(doc: Document) -> list[Problem]:
    """Step names identify a step in every report: each must be unique in its scenario."""
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, step in enumerate(doc.data["steps"]):
        where = ("steps", i, "name")
        if step["name"] in first:
            problems.append(doc.problem(where, f"step name used twice (first on line {first[step['name']]})"))
        first.setdefault(step["name"], doc.line_of(where))
    return problems
