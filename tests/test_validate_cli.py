"""`ror-harness validate`: exit codes, formats, inputs (files, folders, NDJSON, Bundles) and
clear messages for broken input - run as a real subprocess, as a user would."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "ror-0.7.0"
LOCATION = EXAMPLES / "Location-ror-location-exemple.json"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "validate", *args],
                          capture_output=True, text=True, timeout=120)


def test_valid_file_exits_0_with_text_report():
    proc = run(str(LOCATION))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Location/ror-location-exemple  OK" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_errors_exit_1_and_name_location_in_both_languages(tmp_path):
    res = json.loads(LOCATION.read_text())
    res["colour"] = "blue"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(res))
    proc = run(str(f))
    assert proc.returncode == 1
    assert "Location.colour" in proc.stdout and "unknown element" in proc.stdout and "inconnu" in proc.stdout


def test_broken_json_names_file_line_and_column(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text('{\n  "resourceType": "Location",\n  "name": oops\n}\n')
    proc = run(str(f))
    assert proc.returncode == 2
    assert f"{f}:3:11: invalid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ndjson_lines_and_folders(tmp_path):
    good = json.loads(LOCATION.read_text())
    bad = dict(good, id="bad id!")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "all.ndjson").write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")
    proc = run(str(tmp_path), "--format", "json")
    assert proc.returncode == 1
    payload = json.loads(proc.stdout)
    assert [p["origin"].rsplit(":", 1)[-1] for p in payload] == ["1", "3"]
    assert [p["ok"] for p in payload] == [True, False]


def test_outcome_format_is_an_operation_outcome():
    proc = run(str(LOCATION), "--format", "outcome")
    oo = json.loads(proc.stdout)
    assert oo["resourceType"] == "OperationOutcome"
    assert all("severity" in i and "expression" in i for i in oo["issue"])


@pytest.mark.parametrize("args, message", [
    (["--profile", "https://example.org/StructureDefinition/nope"], "not found"),
    (["--ig", "does.not.exist#9.9.9"], "not found"),
])
def test_bad_usage_exits_2(args, message):
    proc = run(str(LOCATION), *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_missing_path_exits_2(tmp_path):
    proc = run(str(tmp_path / "nothing.json"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_explicit_profile_and_011_ig():
    proc = run(str(LOCATION), "--ig", "0.1.1", "--format", "json")
    payload = json.loads(proc.stdout)
    assert payload[0]["profiles"] == ["https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location"]
