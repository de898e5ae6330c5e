"""A real run through every reporter (tests/_report_flow.py in a child pytest with --alluredir):
the Allure results, the HTML report, and the proof that no secret reaches any output."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.html import ReportError, allure_cli, strip_analytics

TESTS = Path(__file__).parent


def _allure_installed() -> bool:
    try:
        allure_cli()
    except ReportError:
        return False
    return True


needs_allure = pytest.mark.skipif(not _allure_installed(), reason="Allure 3 CLI not installed: tools/allure/install.sh")


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flow")
    paths = {"out": root / "out", "allure": root / "allure-results", "secrets": root / "secrets.json",
             "stdout": root / "out" / "pytest-stdout.txt"}
    env = {**os.environ, "ROR_FLOW_OUT": str(paths["out"]), "ROR_FLOW_SECRETS": str(paths["secrets"])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
                           "-o", "addopts=", "--tb=short", "--alluredir", str(paths["allure"]), "_report_flow.py"],
                          cwd=TESTS, env=env, capture_output=True, text=True, timeout=300)
    assert "3 failed, 1 passed, 1 skipped" in done.stdout, done.stdout + done.stderr  # 001 passes; 005 is broken
    paths["stdout"].write_text(done.stdout + done.stderr, encoding="utf-8")
    return paths


def _results(flow: dict[str, Path]) -> dict[str, dict]:
    found = {}
    for path in flow["allure"].glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        found[result["name"].split(" — ")[0]] = result
    return found


def test_allure_results(flow: dict[str, Path]) -> None:
    results = _results(flow)
    assert sorted(results) == [f"ROR-SRV-00{i}" for i in range(1, 6)]
    statuses = {sid: r["status"] for sid, r in results.items()}
    assert statuses == {"ROR-SRV-001": "passed", "ROR-SRV-002": "failed", "ROR-SRV-003": "failed",
                        "ROR-SRV-004": "skipped", "ROR-SRV-005": "broken"}
    failed = results["ROR-SRV-002"]
    assert failed["name"] == "ROR-SRV-002 — Rechercher une organisation par son nom"
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {("severity", "normal"), ("epic", "ROR côté serveur"), ("feature", "search"), ("tag", "majeur")} <= labels
    assert ("severity", "critical") in {(l["name"], l["value"]) for l in results["ROR-SRV-001"]["labels"]}
    assert ("severity", "minor") in {(l["name"], l["value"]) for l in results["ROR-SRV-004"]["labels"]}
    assert [link["url"] for link in failed["links"]] == [
        "https://interop.esante.gouv.fr/ig/fhir/ror/ror_api.html#recherche",
        "https://interop.esante.gouv.fr/ig/fhir/ror/SearchParameter/x"]
    step = failed["steps"][0]
    assert step["name"] == "rechercher (ligne 14)" and step["status"] == "failed"
    request_step = step["steps"][0]
    assert request_step["name"].startswith("GET https://127.0.0.1:") and request_step["name"].endswith("→ 200")
    assert [a["name"] for a in request_step["attachments"]] == ["requête", "réponse", "curl"]
    outcome = json.loads((flow["allure"] / step["attachments"][0]["source"]).read_text(encoding="utf-8"))
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["details"]["text"] == \
        "Élément obligatoire absent"
    response = (flow["allure"] / request_step["attachments"][1]["source"]).read_text(encoding="utf-8")
    assert response.startswith("HTTP 200") and '"resourceType": "Bundle"' in response
    assert "échoué" in failed["description"] and "ligne 14 du scénario" in failed["description"]


def test_json_and_junit_written(flow: dict[str, Path]) -> None:
    summary = json.loads((flow["out"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"total": 5, "passed": 1, "failed": 2, "skipped": 1, "inconclusive": 1}
    assert b"<testsuites" in (flow["out"] / "junit.xml").read_bytes()


@needs_allure
def test_html_report_has_no_analytics(flow: dict[str, Path], tmp_path: Path) -> None:
    out = flow["out"] / "html"
    assert main(["report", "--results", str(flow["allure"]), "--out", str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert len(page) > 100_000 and "ROR-SRV-002" not in page  # the data is embedded encoded, not as text
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "googletagmanager" not in text and "gtag(" not in text and "google-analytics" not in text


def test_strip_analytics_keeps_other_scripts() -> None:
    page = ('<head><script>window.allureReportOptions = {}</script></head><body>'
            '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>\n'
            '<script>\nwindow.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\n'
            '</script>\n<script src="data:text/javascript;base64,QQ=="></script></body>')
    assert strip_analytics(page) == ('<head><script>window.allureReportOptions = {}</script></head><body>'
                                     '<script src="data:text/javascript;base64,QQ=="></script></body>')


def test_report_missing_tools_or_results(flow: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--results", str(tmp_path / "none"), "--out", str(tmp_path / "h")]) == 2
    assert "no Allure results in" in capsys.readouterr().err
    monkeypatch.setenv("ROR_HARNESS_ALLURE_DIR", str(tmp_path))
    assert main(["report", "--results", str(flow["allure"]), "--out", str(tmp_path / "h")]) == 2
    assert "the Allure 3 command line is not installed in" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["report", "--results", str(flow["allure"]), "--out", str(tmp_path / "h")]) == 2
    assert "Node.js is not installed" in capsys.readouterr().err


def _needles(secrets_file: Path) -> list[str]:
    """The literal secrets, and every base64 line of both private keys (and their decoded DER bytes' base64)."""
    recorded = json.loads(secrets_file.read_text(encoding="utf-8"))
    needles = list(recorded["secrets"])
    for pem in recorded["keys"]:
        body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
        needles += [line for line in body if len(line) >= 16]
        needles.append(base64.b64encode(base64.b64decode("".join(body))[:24]).decode())
    return needles


@needs_allure
def test_no_secret_in_any_output(flow: dict[str, Path]) -> None:
    """Client secret, token, session cookie, key password and private-key material: in no file the run produced."""
    assert main(["report", "--results", str(flow["allure"]), "--out", str(flow["out"] / "html-scan")]) == 0
    needles = _needles(flow["secrets"])
    assert len(needles) >= 8
    scanned = 0
    for folder in (flow["out"], flow["allure"]):
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            scanned += 1
            data = path.read_bytes()
            texts = [data.decode("utf-8", errors="replace")]
            if path.suffix == ".html":  # the single-file report embeds its data base64-encoded
                texts += [base64.b64decode(b).decode("utf-8", errors="replace")
                          for b in re.findall(rb"base64,([A-Za-z0-9+/=]+)", data)]
            for text in texts:
                leaked = [needle for needle in needles if needle in text]
                assert not leaked, f"{path.name} holds {leaked}"
    assert scanned >= 20
