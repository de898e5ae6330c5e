"""Console table, JSON summary (against its own schema) and JUnit XML from one synthetic run."""
from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from harness.outcomes import (CheckFailure, Exchange, Outcome, RecordedRequest, RecordedResponse, ScenarioResult,
                              platines_score)
from harness.report.console import ConsoleReporter
from harness.report.events import EventHub, RunFinished, RunStarted
from harness.report.json_summary import SCHEMA_PATH, JsonSummaryWriter
from harness.report.junit import JUnitWriter

EXCHANGE = Exchange("lire", 9, RecordedRequest("GET", "https://ror.example/fhir/Organization/1", {"Accept": "x"}),
                    RecordedResponse(404, {"Content-Type": "application/fhir+json"}, "{}", 12.0), None, "curl ...")
HOSTILE = "réponse \x00\x1b[31m\ud800 brute"  # NUL, ESC, a lone surrogate: XML 1.0 forbids all three
FAILURE = CheckFailure("lire", 9, "status", "200", "404 " + HOSTILE, "Le serveur ne trouve pas l'organisation.",
                       ({"severity": "error", "id": "cardinality-min", "expression": "Organization.name",
                         "message": "min 1", "message_fr": "Élément obligatoire absent"},))
RESULTS = (
    ScenarioResult("ROR-SRV-001", "Lire la déclaration de capacité", 1, "server", Outcome.PASSED, 0.4,
                   "scenarios/server/ROR-SRV-001.yaml", ["ror_api.html#metadata"], "capability"),
    ScenarioResult("ROR-SRV-002", "Lire une organisation par son identifiant technique", 2, "server", Outcome.FAILED,
                   1.25, "scenarios/server/ROR-SRV-002.yaml", ["ror_api.html#read"], "read", [FAILURE], [EXCHANGE]),
    ScenarioResult("ROR-SRV-003", "Exporter en masse", 3, "server", Outcome.SKIPPED, 0.0, area="bulk-export",
                   reason="le serveur ne déclare pas $export"),
    ScenarioResult("ROR-SRV-004", "Nomenclatures NOS", 1, "server", Outcome.INCONCLUSIVE, 2.0, area="terminology",
                   reason="serveur de terminologie injoignable"),
)
STARTED = RunStarted("https://ror.example/fhir", "ans.fhir.fr.ror#0.7.0", "server", "2025-01-01T10:00:00+01:00")
FINISHED = RunFinished(RESULTS, platines_score(list(RESULTS)), 3.65, 1, {"selection": "all"})


def _run(*handlers) -> None:
    hub = EventHub(list(handlers))
    hub.emit(STARTED)
    hub.emit(FINISHED)
    assert hub.errors == []


def test_console_table_and_summary() -> None:
    stream = io.StringIO()
    _run(ConsoleReporter(stream, title_width=30))
    text = stream.getvalue()
    lines = text.splitlines()
    assert lines[0] == "" and lines[1].split() == ["id", "titre", "priorité", "résultat", "durée"]
    assert "ROR-SRV-002  Lire une organisation par son…  majeur    échoué         1.2 s" in text
    assert "404 réponse \\x00\\x1b[31m\ufffd brute" in text and "\x1b" not in text  # shown, not obeyed
    assert "Étape « lire » (ligne 9 du scénario), vérification status" in text
    assert "serveur de terminologie injoignable" in text
    assert lines[-1] == ("4 scénarios : 1 réussi, 1 échoué, 1 ignoré, 1 non concluant | score PLATINES 50/100 "
                         "| 3.6 s")


def test_json_summary_is_valid_against_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "out" / "summary.json"
    _run(JsonSummaryWriter(path))
    document = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["counts"] == {"total": 4, "passed": 1, "failed": 1, "skipped": 1, "inconclusive": 1}
    assert (document["score"], document["exit_code"], document["run"]["ig"]) == (50, 1, "ans.fhir.fr.ror#0.7.0")
    failure = document["scenarios"][1]["failures"][0]
    assert (failure["step"], failure["yaml_line"], failure["expected"]) == ("lire", 9, "200")
    assert failure["issues"][0]["message_fr"] == "Élément obligatoire absent"
    assert document["scenarios"][2]["reason"] == "le serveur ne déclare pas $export"
    assert not list(tmp_path.rglob("*.partial"))


def test_json_schema_rejects_what_it_should(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    _run(JsonSummaryWriter(path))
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    document["scenarios"][3]["reason"] = ""  # an inconclusive scenario must say why
    document["scenarios"][1]["failures"] = []  # a failed one must say what failed
    assert len(list(validator.iter_errors(document))) == 2


def test_junit_mapping(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    _run(JUnitWriter(path))
    root = etree.parse(str(path)).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("4", "1", "1", "1")
    cases = root.findall("testsuite/testcase")
    assert [c.get("name").split(" — ")[0] for c in cases] == [r.id for r in RESULTS]
    assert cases[1].get("classname") == "ror-harness.server.read"
    failure = cases[1].find("failure")
    assert failure.get("message") == "Le serveur ne trouve pas l'organisation." and failure.get("type") == "status"
    assert "ligne 9 du scénario" in failure.text and "attendu : 200" in failure.text
    assert "réponse \ufffd\ufffd[31m\ufffd brute" in failure.text  # forbidden characters replaced, file still XML
    assert "GET https://ror.example/fhir/Organization/1 -> 404" in cases[1].find("system-out").text
    assert cases[2].find("skipped").get("message") == "le serveur ne déclare pas $export"
    error = cases[3].find("error")
    assert error.get("type") == "inconclusive" and "injoignable" in error.get("message")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["platines_score"] == "50" and properties["target"] == "https://ror.example/fhir"


@pytest.mark.parametrize("handler", [JsonSummaryWriter, JUnitWriter])
def test_file_writers_without_run_started(tmp_path: Path, handler) -> None:
    """A writer added after the run began still writes a valid file (run fields left empty)."""
    hub = EventHub([handler(tmp_path / "out")])
    hub.emit(FINISHED)
    assert hub.errors == [] and (tmp_path / "out").stat().st_size > 0
