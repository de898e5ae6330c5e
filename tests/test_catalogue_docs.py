"""The catalogue documents (docs/catalogue.md, coverage-ig.md, coverage-capability.md and its consumer
twin coverage-capability-consumer.md) are what `tools/catalogue_docs.py` writes from the scenario files, so they cannot go stale; every server
scenario says which IG scenarios it exercises, or why none."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from harness.pytest_plugin.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("catalogue_docs", ROOT / "tools" / "catalogue_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ig():
    return json.loads((ROOT / "fixtures" / "ig" / "ig-scenarios.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scenarios():
    catalogue = load_catalogue([ROOT / "scenarios"])
    assert catalogue.problems == []
    return catalogue.scenarios


def test_the_ig_data_file_holds_the_82_scenarios(ig):
    keys = [s["key"] for s in ig["scenarios"]]
    assert len(keys) == len(set(keys)) == 82
    assert {s["flag"] for s in ig["scenarios"]} == {None, "draft", "deprecated", "under consideration"}
    assert sum(1 for s in ig["scenarios"] if s["flag"] == "draft") == 28
    assert ig["provenance"]["source_sha256"] and ig["provenance"]["extracted_by"] == "tools/extract_ig_scenarios.py"
    by_key = {s["key"]: s for s in ig["scenarios"]}
    assert by_key["ST10-S2"]["requests"][0]["interaction"] == "patch (conditional)"
    assert by_key["ST5-S1"]["requests"][0]["request"] == "POST [BASE]/Task"
    assert by_key["MAJOFFRE-S11"]["see"] == ["ST10-S1"] and by_key["MAJOFFRE-S11"]["labels"] == []
    assert "[spécifique serveur]" in by_key["SAISIE-S3"]["labels"]


def test_the_committed_docs_are_what_the_command_writes(tool):
    for name, text in tool.generate().items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == text, f"docs/{name} is stale: run .venv/bin/python tools/catalogue_docs.py"


def test_each_server_scenario_names_an_ig_scenario_or_says_why(scenarios):
    silent = [s.id for s in scenarios if s.role == "server" and not s.ig_scenarios and not s.ig_scenarios_note]
    assert silent == [], "add ig_scenarios, or ig_scenarios_note saying why no IG scenario applies"


def test_the_ig_scenarios_named_exist(scenarios, ig):
    known = {s["key"] for s in ig["scenarios"]}
    assert [(s.id, k) for s in scenarios for k in s.ig_scenarios if k not in known] == []


def test_what_a_request_exercises(tool):
    from harness.checks.search_params import SearchParameters
    from harness.fhir.packages import DEFAULT_IG, PackageSet

    usage = tool.Usage(SearchParameters(PackageSet(DEFAULT_IG)))
    usage.request("A", "GET", "/HealthcareService", [
        ("location.address-postalcode", "49"), ("_has:PractitionerRole:service:practitioner.identifier", "1"),
        ("_include", "HealthcareService:location"), ("_include:iterate", "Organization:partof"), ("_count", "5"),
        ("_filter", "(specialty eq a or characteristic eq b)")])
    usage.request("B", "GET", "/HealthcareService/{{ facts.service.id }}/_history/{{ saved.version }}", [])
    usage.request("C", "PATCH", "/Location", [("identifier", "x")])
    usage.request("D", "GET", "{{ saved.next }}", [])
    assert {k for k in usage.search} == {
        ("HealthcareService", "location"), ("Location", "address-postalcode"), ("HealthcareService", "_has"),
        ("PractitionerRole", "practitioner"), ("Practitioner", "identifier"), ("HealthcareService", "_filter"),
        ("HealthcareService", "specialty"), ("HealthcareService", "characteristic")}
    assert set(usage.includes) == {("_include", "HealthcareService:location"), ("_include", "Organization:partof")}
    assert set(usage.interactions) == {("HealthcareService", "search-type"), ("HealthcareService", "vread"),
                                       ("Location", "patch")}
    assert usage.rest["_count"] == {"A"}
