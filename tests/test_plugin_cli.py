"""`ror-harness run` and `ror-harness list`: exit codes 0 / 1 / 2 / 3, reports, the embedded default."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from plugin_support import BROKEN, FAILING, MINOR_FAILING, PASSING, dead_port, target_profile, write

__all__ = ["target_profile"]  # the module-scoped reference server fixture


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=300)


def test_exit_0_when_nothing_gated_fails_with_reports(tmp_path, target_profile):
    write(tmp_path / "scen", PASSING, MINOR_FAILING)
    done = cli("run", "--scenarios", "scen", "--target-config", str(target_profile), "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 scénarios : 1 réussi, 1 échoué" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 0 and summary["score"] == 75
    assert (tmp_path / "out" / "junit.xml").is_file() and any((tmp_path / "out" / "allure-results").iterdir())


def test_exit_1_on_a_gated_failure(tmp_path, target_profile):
    write(tmp_path / "scen", PASSING, FAILING)
    done = cli("run", "--scenarios", "scen", "--target-config", str(target_profile), "--json", "s.json", cwd=tmp_path)
    assert done.returncode == 1
    assert "Étape « lire une offre inexistante » (ligne 11 du scénario)" in done.stdout
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["exit_code"] == 1


def test_exit_2_on_a_broken_catalogue_before_anything_runs(tmp_path):
    write(tmp_path / "scen", PASSING, BROKEN)
    done = cli("run", "--scenarios", "scen", "--target", f"http://127.0.0.1:{dead_port()}", cwd=tmp_path)
    assert done.returncode == 2
    assert "scen/ROR-SRV-906-essai.yaml:11: steps[0].expect.statut: unknown check 'statut'" in done.stderr
    assert "Traceback" not in done.stderr and "unreachable" not in done.stderr


def test_exit_2_on_usage_errors(tmp_path, target_profile):
    write(tmp_path / "scen", PASSING)
    unknown = cli("run", "--scenarios", "scen", "--scenario", "ROR-SRV-999", cwd=tmp_path)
    assert unknown.returncode == 2 and "ROR-SRV-999" in unknown.stderr
    bad_gate = cli("run", "--scenarios", "scen", "--target-config", str(target_profile), "--fail-on", "4", cwd=tmp_path)
    assert bad_gate.returncode == 2 and "--fail-on" in bad_gate.stderr
    (tmp_path / "target.yaml").write_text("base_url: ftp://x\n", encoding="utf-8")
    bad_target = cli("run", "--scenarios", "scen", "--target-config", "target.yaml", cwd=tmp_path)
    assert bad_target.returncode == 2 and "target.yaml:1: base_url: 'ftp://x' does not match" in bad_target.stderr


def test_exit_3_with_one_line_when_the_target_is_unreachable(tmp_path):
    write(tmp_path / "scen", PASSING, FAILING)
    done = cli("run", "--scenarios", "scen", "--target", f"http://127.0.0.1:{dead_port()}", cwd=tmp_path)
    assert done.returncode == 3
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and "unreachable" in done.stderr


def test_without_a_target_the_embedded_server_is_used(tmp_path):
    write(tmp_path / "scen", PASSING)
    done = cli("run", "--scenarios", "scen", "--json", "s.json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["run"]
    assert run["target"].startswith("serveur de référence embarqué (https://127.0.0.1:")


def test_list(tmp_path):
    write(tmp_path / "scen", PASSING, MINOR_FAILING)
    table = cli("list", "--scenarios", "scen", "--priority", "1", cwd=tmp_path)
    assert table.returncode == 0 and "ROR-SRV-901" in table.stdout and "ROR-SRV-905" not in table.stdout
    rows = json.loads(cli("list", "--scenarios", "scen", "--format", "json", cwd=tmp_path).stdout)
    assert [(r["id"], r["priority_label"]) for r in rows] == [("ROR-SRV-901", "critique"), ("ROR-SRV-905", "mineur")]
    assert cli("list", "--scenarios", "nowhere", cwd=tmp_path).returncode == 2


def test_a_failed_scenario_is_failed_in_allure_not_broken(tmp_path):
    """Allure files AssertionErrors as failed (the candidate) and other errors as broken (kept for
    inconclusive): a failed scenario must read as failed in the HTML report."""
    from harness.cli import main

    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "ROR-SRV-999-fails.yaml").write_text(
        "id: ROR-SRV-999\ntitle: Échoue exprès\ndescription: d\npriority: 3\npriority_reason: test\n"
        "role: server\narea: test\nrequirements: [x]\nproven_by: [wrong-content-type]\n"
        "steps:\n  - name: lire\n    request: {method: GET, path: /metadata}\n    expect: {status: 201}\n",
        encoding="utf-8")
    code = main(["run", "--scenarios", str(folder), "--report-dir", str(tmp_path / "out"), "--fail-on", "1,2,3"])
    assert code == 1
    results = [json.loads(p.read_text()) for p in (tmp_path / "out" / "allure-results").glob("*-result.json")]
    assert [r["status"] for r in results] == ["failed"]
