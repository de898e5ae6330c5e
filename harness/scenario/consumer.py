"""Consumer scenarios (role: consumer): the model and the loader's part for them.

A consumer scenario says what the consumer is asked to do (`consumer`), how the mock ROR
misbehaves on purpose (`mock`), the requests the consumer is expected to send (`steps`, each an
`expect_request` matcher) and checks on the whole conversation (`expect_run`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.scenario import templates
from harness.scenario.errors import Problem
from harness.scenario.steps import duplicate_step_names
from harness.scenario.yamlsource import Document


@dataclass(frozen=True)
class Expectation:
    """One expected request: selected by method, path and query; then its headers and body are checked."""

    name: str
    line: int
    method: str
    path: str
    query: dict[str, Any]
    only_query: bool
    headers: dict[str, Any]
    body: dict[str, Any]
    count_min: int = 1
    count_max: int | None = None
    where: str | None = None  # FHIRPath on the JSON body that selects the request
    after: str | None = None  # another step's name: this step's requests come after its first one


@dataclass(frozen=True)
class ConsumerSpec:
    task: str
    instructions: str
    params: dict[str, Any]
    exit: str  # success | failure | any
    output_contains: str | None
    timeout_s: float
    mock: dict[str, Any]
    expect_run: dict[str, Any]
    expectations: tuple[Expectation, ...] = field(default_factory=tuple)
    line: int = 1


def _constraint_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def semantic_problems(doc: Document) -> list[Problem]:
    """What the schema cannot say: unique step names, variables (facts only), regexes, FHIRPath, `after` targets."""
    data = doc.data
    problems: list[Problem] = duplicate_step_names(doc)
    names = [s["name"] for s in data["steps"]]
    for i, step in enumerate(data["steps"]):
        where = ("steps", i)
        match = step["expect_request"]
        for part in ("query", "headers"):
            for key, value in (match.get(part) or {}).items():
                if isinstance(value, dict) and "matches" in value:
                    try:
                        re.compile(value["matches"])
                    except re.error as exc:
                        problems.append(doc.problem((*where, "expect_request", part, key, "matches"), f"bad regular expression: {exc}"))
        expressions = [(("body", "fhirpath", j, "expr"), rule["expr"])
                       for j, rule in enumerate((match.get("body") or {}).get("fhirpath", ()))]
        expressions += [(("where",), match["where"])] if "where" in match else []
        for at, expr in expressions:
            try:
                default_engine().compile(expr)
            except NotEvaluable as exc:
                problems.append(doc.problem((*where, "expect_request", *at), f"FHIRPath cannot be evaluated: {exc.reason}"))
        if "after" in match and (match["after"] not in names or match["after"] == step["name"]):
            problems.append(doc.problem((*where, "expect_request", "after"), f"'{match['after']}' is not the name of another step"))
        count = match.get("count") or {}
        if "max" in count and count["max"] < count.get("min", 1):
            problems.append(doc.problem((*where, "expect_request", "count"), "max is below min"))
    for at, text in _texts(data):
        for name, problem in templates.references(text):
            if problem:
                problems.append(doc.problem(at, problem))
            elif not name.startswith("facts."):
                problems.append(doc.problem(at, f"'{name}': a consumer scenario only uses facts.* variables"))
    return problems


def _texts(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(v, (*path, k))]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _texts(v, (*path, i))]
    return []


def build(doc: Document) -> ConsumerSpec:
    data = doc.data
    c = data["consumer"]
    expectations = []
    for i, step in enumerate(data["steps"]):
        m = step["expect_request"]
        count = m.get("count") or {}
        expectations.append(Expectation(
            name=step["name"], line=doc.line_of(("steps", i)), method=m["method"], path=m["path"],
            query=dict(m.get("query") or {}), only_query=bool(m.get("only_query", False)),
            headers=dict(m.get("headers") or {}), body=dict(m.get("body") or {}),
            count_min=count.get("min", 1), count_max=count.get("max"), where=m.get("where"), after=m.get("after")))
    return ConsumerSpec(
        task=c["task"], instructions=" ".join(c["instructions"].split()), params=dict(c.get("params") or {}),
        exit=c.get("exit", "success"), output_contains=c.get("output_contains"), timeout_s=float(c.get("timeout", 60)),
        mock=dict(data.get("mock") or {}), expect_run=dict(data.get("expect_run") or {}),
        expectations=tuple(expectations), line=doc.line_of(("consumer",)))
