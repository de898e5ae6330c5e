"""Load a scenario file: YAML with lines -> JSON Schema -> the checks the registry knows ->
what the schema cannot say (variables, FHIRPath, files) -> the model.

Every problem is collected with its file, line and field, so that an author fixes a file in
one pass; nothing here raises anything but FileError.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from harness.checks import registry
from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.scenario import consumer, templates
from harness.scenario.steps import duplicate_step_names
from harness.scenario.errors import FileError, Problem
from harness.scenario.model import Check, Proof, Request, Requires, Save, Scenario, Step
from harness.scenario.yamlsource import Document, read

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")
ROLE_OF_PREFIX = {"SRV": "server", "CNS": "consumer"}
#: Problems reported per file: past this, the rest are noise from the first ones.
MAX_PROBLEMS = 30


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def load(path: Path, shown_as: str | None = None) -> Scenario:
    """The scenario in `path`, or FileError naming every problem (file, line, field)."""
    doc = read(path, shown_as)
    problems = check_document(doc, path)
    if problems:
        raise FileError(problems[:MAX_PROBLEMS])
    return _build(doc, path)


# -- problems ----------------------------------------------------------------------------------


def check_document(doc: Document, path: Path) -> list[Problem]:
    data = doc.data
    if not isinstance(data, dict):
        return [doc.problem((), "a scenario file is one YAML mapping (id:, title:, steps:, ...)")]
    problems = _unknown_checks(doc)
    unknown_at = frozenset(p[:-1] for p in _unknown_paths(doc))
    for error in _schema_validator().iter_errors(data):
        problems += schema_problems(doc, error, unknown_at)
    if problems:
        return _dedupe(problems)
    return _semantic_problems(doc, path)


def _expect_paths(data: dict) -> Iterator[tuple]:
    for i, step in enumerate(data.get("steps") or ()):
        if isinstance(step, dict) and isinstance(step.get("expect"), dict):
            yield ("steps", i, "expect")


def _unknown_paths(doc: Document) -> list[tuple]:
    known = set(registry.names())
    return [(*p, key) for p in _expect_paths(doc.data) for key in doc.data["steps"][p[1]]["expect"] if key not in known]


def _unknown_checks(doc: Document) -> list[Problem]:
    known = registry.names()
    return [doc.problem(p, f"unknown check '{p[-1]}' (known checks: {', '.join(known)})") for p in _unknown_paths(doc)]


def _relevant(error: ValidationError) -> tuple[ValidationError, str]:
    """Inside anyOf / oneOf: the branch that says what is really wrong, and the field's description.

    Branches the value does not even have the type of ("is not of type 'array'") say little:
    they are dropped when another branch got further.
    """
    hint = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    while error.context:
        deeper = [e for e in error.context if e.validator not in ("type", "const", "enum")] or error.context
        error = best_match(deeper)
    return error, hint


def schema_problems(doc: Document, error: ValidationError, unknown_at: frozenset[tuple] = frozenset()) -> list[Problem]:
    """One JSON Schema error as Problems located in the file (also used for target profiles)."""
    error, hint = _relevant(error)
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        if path in unknown_at:
            return []  # already reported as unknown checks
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [doc.problem((*path, k), f"unknown field '{k}' (allowed here: {', '.join(allowed)})") for k in extra]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return [doc.problem((*path, k), "required field is missing") for k in missing]
    return [doc.problem(path, error.message + (f" ({hint})" if hint else ""))]


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _semantic_problems(doc: Document, path: Path) -> list[Problem]:
    data = doc.data
    problems = []
    prefix = data["id"].split("-")[1]
    if ROLE_OF_PREFIX[prefix] != data["role"]:
        problems.append(doc.problem(("role",), f"an {data['id'][:7]} scenario has role {ROLE_OF_PREFIX[prefix]}, "
                                               f"not {data['role']}"))
    if not path.name.startswith(data["id"]):
        problems.append(doc.problem(("id",), f"the file name must start with the id ({data['id']}...yaml), "
                                             f"not '{path.name}'"))
    if prefix == "CNS":  # expected requests, not requests to send: harness/scenario/consumer.py
        return problems + consumer.semantic_problems(doc)
    problems += _proof_problems(doc, data)
    saved: set[str] = set()
    problems += duplicate_step_names(doc)
    for i, step in enumerate(data["steps"]):
        where = ("steps", i)
        problems += _request_problems(doc, step["request"], (*where, "request"), path)
        for at, text in _strings({k: v for k, v in step.items() if k != "save"}, where):
            problems += _variable_problems(doc, at, text, saved)
        problems += _fhirpath_problems(doc, step, where)
        saved |= set(step.get("save") or ())
    return problems


def _proof_problems(doc: Document, data: dict) -> list[Problem]:
    steps = [s["name"] for s in data["steps"]]
    problems = []
    for i, proof in enumerate(data.get("proven_by", ())):
        if isinstance(proof, str) and len(steps) > 1:
            problems.append(doc.problem(("proven_by", i), f"name the step that catches '{proof}': "
                                                           f"{{fault: {proof}, step: ...}} (the scenario has {len(steps)} steps)"))
        elif isinstance(proof, dict) and proof["step"] not in steps:
            problems.append(doc.problem(("proven_by", i, "step"), f"no step named '{proof['step']}'"))
    return problems


def _request_problems(doc: Document, request: dict, where: tuple, path: Path) -> list[Problem]:
    problems = []
    if "body" in request and "body_file" in request:
        problems.append(doc.problem((*where, "body_file"), "give body or body_file, not both"))
    if "body_file" in request and not (path.parent / request["body_file"]).is_file():
        problems.append(doc.problem((*where, "body_file"), f"file not found: {path.parent / request['body_file']}"))
    return problems


def _variable_problems(doc: Document, at: tuple, text: str, saved: set[str]) -> list[Problem]:
    problems = []
    for name, problem in templates.references(text):
        if problem:
            problems.append(doc.problem(at, problem))
        elif name.startswith("saved.") and name.split(".")[1] not in saved:
            problems.append(doc.problem(at, f"'{name}' is not saved by an earlier step (save: {{{name.split('.')[1]}: ...}})"))
    return problems


def _fhirpath_problems(doc: Document, step: dict, where: tuple) -> list[Problem]:
    expressions = [((*where, "save", name), rule) for name, rule in (step.get("save") or {}).items() if isinstance(rule, str)]
    expect = step.get("expect") or {}
    expressions += [((*where, "expect", "fhirpath", i, "expr"), rule["expr"]) for i, rule in enumerate(expect.get("fhirpath", ()))]
    problems = []
    for at, expression in expressions:
        if "{{" in expression:
            continue  # compiled once rendered
        try:
            default_engine().compile(expression)
        except NotEvaluable as exc:
            problems.append(doc.problem(at, f"FHIRPath cannot be evaluated: {exc.reason}"))
    for name, rule in (expect.get("headers") or {}).items():
        if "matches" in rule:
            try:
                re.compile(rule["matches"])
            except re.error as exc:
                problems.append(doc.problem((*where, "expect", "headers", name, "matches"), f"bad regular expression: {exc}"))
    return problems


# -- model -------------------------------------------------------------------------------------


def _build(doc: Document, path: Path) -> Scenario:
    data = doc.data
    if data["role"] == "consumer":
        return _build_consumer(doc, path)
    steps = tuple(_step(doc, step, ("steps", i), path) for i, step in enumerate(data["steps"]))
    used_facts = {name.partition(".")[2] for _, text in _strings(data["steps"], ())
                  for name, _ in templates.references(text) if name.startswith("facts.")}
    req = data.get("requires") or {}
    requires = Requires(
        resources=tuple(req.get("resources", ())), interactions=tuple(req.get("interactions", ())),
        search_params=tuple(req.get("search_params", ())), operations=tuple(req.get("operations", ())),
        facts=tuple(sorted(set(req.get("facts", ())) | used_facts)),
        credentials=tuple(sorted(set(req.get("credentials", ())) | _used_credentials(steps))))
    return Scenario(
        id=data["id"], title=data["title"], priority=data["priority"], role=data["role"], steps=steps,
        source=doc.path, path=path, description=data.get("description", "").strip(),
        priority_reason=data.get("priority_reason", "").strip(), area=data.get("area", ""),
        requirements=tuple(data["requirements"]), ig_scenarios=tuple(data.get("ig_scenarios", ())),
        ig_scenarios_note=data.get("ig_scenarios_note", "").strip(),
        proven_by=tuple(Proof(p, data["steps"][0]["name"]) if isinstance(p, str) else Proof(p["fault"], p["step"])
                        for p in data.get("proven_by", ())), requires=requires, line=doc.line_of(("id",)))


#: What a step's request needs from the target profile besides its default credentials.
CREDENTIAL_OF_AUTH = {"expired": "expired_token", "profile0": "auth_profile0", "read_only": "auth_read_only"}


def _used_credentials(steps: tuple[Step, ...]) -> set[str]:
    used = {CREDENTIAL_OF_AUTH[s.request.auth] for s in steps if s.request.auth in CREDENTIAL_OF_AUTH}
    return used | ({"client_cert"} if any(not s.request.client_cert for s in steps) else set())


def _build_consumer(doc: Document, path: Path) -> Scenario:
    data = doc.data
    spec = consumer.build(doc)
    return Scenario(
        id=data["id"], title=data["title"], priority=data["priority"], role=data["role"], steps=(),
        source=doc.path, path=path, description=data.get("description", "").strip(),
        priority_reason=data.get("priority_reason", "").strip(), area=data.get("area", ""),
        requirements=tuple(data["requirements"]), ig_scenarios=tuple(data.get("ig_scenarios", ())),
        ig_scenarios_note=data.get("ig_scenarios_note", "").strip(),
        proven_by=tuple(Proof(p, "") if isinstance(p, str) else Proof(p["fault"], p["step"])
                        for p in data.get("proven_by", ())), line=doc.line_of(("id",)), consumer=spec)


def _step(doc: Document, step: dict, where: tuple, path: Path) -> Step:
    r = step["request"]
    at = (*where, "request")
    request = Request(
        method=r["method"], path=r["path"],
        query=tuple((k, v) for item in r.get("query", ()) for k, v in item.items()),
        headers=dict(r.get("headers", {})), body=r.get("body"),
        body_file=(path.parent / r["body_file"]) if "body_file" in r else None,
        auth=r.get("auth", "default"), ror_headers=r.get("ror_headers", True), line=doc.line_of(at),
        client_cert=r.get("client_cert", True))
    saves = tuple(Save(name, rule if isinstance(rule, str) else None, rule.get("header") if isinstance(rule, dict) else None,
                       doc.line_of((*where, "save", name)))
                  for name, rule in (step.get("save") or {}).items())
    checks = tuple(Check(kind, params, doc.line_of((*where, "expect", kind)))
                   for kind, params in (step.get("expect") or {}).items())
    return Step(step["name"], doc.line_of(where), request, saves, checks)
