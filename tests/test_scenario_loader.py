"""Scenario files: what loads, and how each kind of broken file is reported (file, line, field)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness.checks import registry
from harness.pytest_plugin.catalogue import load_catalogue
from harness.pytest_plugin.plugin import BUNDLED_SCENARIOS
from harness.scenario import FileError, load
from harness.scenario.loader import schema
from harness.scenario.templates import MissingValue, references, render

GOOD = """\
id: ROR-SRV-900
title: Lecture d'une offre
priority: 1
role: server
requirements: [x]
steps:
  - name: lire
    request:
      method: GET
      path: /HealthcareService/{{ facts.service.id }}
      query:
        - _include: HealthcareService:organization
        - _include: HealthcareService:location
    save:
      org: providedBy.reference
    expect:
      status: 200
      resource_type: HealthcareService
  - name: suivre
    request: {method: GET, path: "/{{ saved.org }}"}
    expect:
      status: [200, 4xx]
"""


def write(tmp_path: Path, text: str, name: str = "ROR-SRV-900-test.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, name: str = "ROR-SRV-900-test.yaml") -> list[str]:
    with pytest.raises(FileError) as caught:
        load(write(tmp_path, text, name))
    return [str(p) for p in caught.value.problems]


def test_a_good_scenario_loads_with_its_lines(tmp_path):
    scenario = load(write(tmp_path, GOOD))
    assert scenario.id == "ROR-SRV-900" and scenario.role == "server"
    first, second = scenario.steps
    assert (first.line, first.request.line) == (7, 8)
    assert first.request.query == (("_include", "HealthcareService:organization"),
                                   ("_include", "HealthcareService:location"))
    assert [(c.kind, c.line) for c in first.checks] == [("status", 17), ("resource_type", 18)]
    assert first.saves[0].name == "org" and first.saves[0].line == 15
    assert second.line == 19
    assert scenario.requires.facts == ("service.id",)  # taken from the templates


@pytest.mark.parametrize("edit, expected", [
    (("priority: 1\n", "priority: 5\n"), ":3: priority: 5 is not one of [1, 2, 3]"),
    (("title: Lecture d'une offre\n", ""), ":1: title: required field is missing"),
    (("role: server\n", "role: server\ncolour: blue\n"), ":5: colour: unknown field 'colour'"),
    (("      status: 200\n", "      statut: 200\n"), ":17: steps[0].expect.statut: unknown check 'statut'"),
    (("      method: GET\n", "      method: FETCH\n"), ":9: steps[0].request.method: 'FETCH' is not one of"),
    (("      status: [200, 4xx]", "      status: abc"), ":22: steps[1].expect.status: 'abc' does not match"),
    (("      org: providedBy.reference", "      org: providedBy.("), ":15: steps[0].save.org: FHIRPath cannot be evaluated"),
    (("{{ saved.org }}", "{{ saved.orga }}"), ":20: steps[1].request.path: 'saved.orga' is not saved by an earlier step"),
    (("{{ facts.service.id }}", "{{ fact.service.id }}"), ":10: steps[0].request.path: unknown variable 'fact.service.id'"),
    (("  - name: suivre", "  - name: lire"), ":19: steps[1].name: step name used twice (first on line 7)"),
    (("role: server", "role: consumer"), ":4: role: an ROR-SRV scenario has role server"),
    (("    request: {method: GET,", "    request: {method: GET, body_file: nope.json,"), ":20: steps[1].request.body_file: file not found"),
])
def test_each_kind_of_problem_names_file_line_and_field(tmp_path, edit, expected):
    found = problems(tmp_path, GOOD.replace(*edit))
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path / "ROR-SRV-900-test.yaml")) for p in found)


def test_malformed_yaml_names_the_line(tmp_path):
    found = problems(tmp_path, GOOD.replace("      method: GET\n      path: /Health", "      method: [GET\n      path: /Health", 1))
    assert len(found) == 1 and ":10: not valid YAML" in found[0]


def test_duplicate_keys_are_refused(tmp_path):
    found = problems(tmp_path, GOOD.replace("priority: 1\n", "priority: 1\npriority: 2\n"))
    assert found == [f"{tmp_path / 'ROR-SRV-900-test.yaml'}:4: priority: duplicate key (first given on line 3)"]


def test_the_file_name_starts_with_the_id(tmp_path):
    found = problems(tmp_path, GOOD, name="lecture.yaml")
    assert any(":1: id: the file name must start with the id" in p for p in found)


def test_a_document_that_is_not_a_mapping(tmp_path):
    expected = f"{tmp_path / 'ROR-SRV-900-test.yaml'}:1: a scenario file is one YAML mapping (id:, title:, steps:, ...)"
    assert problems(tmp_path, "- a\n- b\n") == [expected]


def test_proofs_name_their_step_when_there_are_several(tmp_path):
    found = problems(tmp_path, GOOD.replace("requirements: [x]\n", "requirements: [x]\nproven_by: [etag-missing]\n"))
    assert any(":6: proven_by[0]: name the step that catches 'etag-missing'" in p for p in found)
    found = problems(tmp_path, GOOD.replace("requirements: [x]\n",
                                            "requirements: [x]\nproven_by: [{fault: etag-missing, step: nope}]\n"))
    assert any(":6: proven_by[0].step: no step named 'nope'" in p for p in found)


def test_yaml_dates_and_yes_no_stay_strings(tmp_path):
    text = GOOD.replace("        - _include: HealthcareService:location\n",
                        "        - _lastUpdated: 2023-08-02\n        - flag: on\n")
    scenario = load(write(tmp_path, text))
    assert scenario.steps[0].request.query[1:] == (("_lastUpdated", "2023-08-02"), ("flag", "on"))


def test_every_bundled_scenario_loads():
    catalogue = load_catalogue([BUNDLED_SCENARIOS])
    assert catalogue.problems == []
    assert len(catalogue.scenarios) >= 10
    critical = [s for s in catalogue.scenarios if s.priority == 1 and s.role == "server"]
    assert len(critical) >= 10 and all(s.proven_by for s in critical)


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, GOOD, "ROR-SRV-900-a.yaml")
    write(tmp_path, GOOD, "ROR-SRV-900-b.yaml")
    found = [str(p) for p in load_catalogue([tmp_path]).problems]
    assert len(found) == 1 and "ROR-SRV-900-b.yaml:1: id: ROR-SRV-900 is already the id of" in found[0]


def test_the_schema_lists_exactly_the_registered_checks():
    assert sorted(schema()["$defs"]["expect"]["properties"]) == registry.names()
    json.dumps(schema())  # the published file is plain JSON


def test_variables_render_typed_or_into_text():
    env = {"facts": {"n": 3, "service": {"id": "hs-1"}}, "saved": {"flag": True}}
    assert render("{{ facts.n }}", env) == 3
    assert render("/HealthcareService/{{ facts.service.id }}?x={{ saved.flag }}", env) == "/HealthcareService/hs-1?x=true"
    assert render({"a": ["{{facts.n}}"]}, env) == {"a": [3]}
    with pytest.raises(MissingValue) as caught:
        render("{{ facts.service.name }}", env)
    assert caught.value.name == "facts.service.name"
    assert [p for _, p in references("{{ a b }} {{ other.x }}")] == [
        "'{{ a b }}' is not a variable name (letters, digits, _ and - joined by dots)",
        "unknown variable 'other.x': variables start with facts. or saved."]


def test_the_language_documentation_lists_every_check():
    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario-language.md").read_text(encoding="utf-8")
    assert [name for name in registry.names() if f"| `{name}` |" not in text] == []
