"""The pytest plugin run by pytest itself: the four outcomes, failures told in scenario terms,
exit codes, what is collected (and what is not), and a pytest-xdist run."""
from __future__ import annotations

import json

import pytest
from plugin_support import BROKEN, FAILING, INCONCLUSIVE, MINOR_FAILING, PASSING, SKIPPED, dead_port, target_profile, write

pytest_plugins = ["pytester"]
__all__ = ["target_profile"]  # the module-scoped reference server fixture


def run(pytester: pytest.Pytester, profile, *args: str, subprocess: bool = False) -> pytest.RunResult:
    options = ["--ror-scenarios", "scen", "--ror-target-config", str(profile), "-p", "no:cacheprovider", *args]
    if subprocess:
        return pytester.runpytest_subprocess(*options, "scen")
    return pytester.runpytest_inprocess(*options, "scen")


def summary(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "summary.json").read_text(encoding="utf-8"))


def test_the_four_outcomes(pytester, target_profile):
    write(pytester.path / "scen", PASSING, FAILING, SKIPPED, INCONCLUSIVE)
    result = run(pytester, target_profile, "--ror-json", "summary.json", "-rA")
    outcomes = {s["id"]: s["outcome"] for s in summary(pytester)["scenarios"]}
    assert outcomes == {"ROR-SRV-901": "passed", "ROR-SRV-902": "failed", "ROR-SRV-903": "skipped",
                        "ROR-SRV-904": "inconclusive"}
    assert result.ret == 1  # a priority-1 failure
    text = result.stdout.str()
    assert "1 failed, 1 passed, 1 skipped" in text and "1 inconclusive" in text
    assert "SKIPPED [1] scen/ROR-SRV-903-essai.yaml:1: données d'exemple absentes" in text
    reasons = {s["id"]: s["reason"] for s in summary(pytester)["scenarios"]}
    assert "facts.nope.x" in reasons["ROR-SRV-903"] and "_filter" in reasons["ROR-SRV-904"]


def test_a_failure_reads_in_the_scenario_terms(pytester, target_profile):
    write(pytester.path / "scen", FAILING)
    text = run(pytester, target_profile).stdout.str()
    assert "ROR-SRV-902 — Scénario d'essai 902 (" in text and "scen/ROR-SRV-902-essai.yaml)" in text
    assert "Étape « lire une offre inexistante » (ligne 11 du scénario), vérification status" in text
    assert "attendu : 200" in text and "obtenu  : 404" in text
    assert "rejouer :" in text and "curl" in text and "/HealthcareService/inexistante" in text
    assert "Traceback" not in text and "harness/pytest_plugin" not in text


def test_fail_on_gates_the_exit_code(pytester, target_profile):
    write(pytester.path / "scen", PASSING, MINOR_FAILING)
    assert run(pytester, target_profile).ret == 0  # a mineur failure does not fail the default gate (1,2)
    assert run(pytester, target_profile, "--ror-fail-on", "3").ret == 1


def test_a_broken_scenario_file_exits_2_with_its_location(pytester, target_profile):
    write(pytester.path / "scen", PASSING, BROKEN)
    result = run(pytester, target_profile)
    assert result.ret == 2
    text = result.stdout.str()
    assert "scen/ROR-SRV-906-essai.yaml:11: steps[0].expect.statut: unknown check 'statut'" in text
    assert "Traceback" not in text


def test_an_unreachable_target_exits_3_at_once(pytester):
    write(pytester.path / "scen", PASSING, FAILING)
    result = pytester.runpytest_inprocess("--ror-scenarios", "scen", "--ror-target", f"http://127.0.0.1:{dead_port()}",
                                          "scen")
    assert result.ret == 3
    text = result.stdout.str() + result.stderr.str()
    assert "unreachable (refused)" in text
    assert "ROR-SRV-901" not in text  # nothing was collected, nothing ran


def test_only_scenario_files_of_the_scenario_folders_are_collected(pytester, target_profile):
    write(pytester.path / "scen", PASSING, ("notes.yaml", "not: a scenario\n"))
    write(pytester.path / "other", FAILING)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest_inprocess("--ror-scenarios", "scen", "--ror-target-config", str(target_profile),
                                          "scen", "other", "test_plain.py")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


def test_the_plugin_is_inert_in_other_test_suites(pytester):
    write(pytester.path / "scen", FAILING)
    pytester.makepyfile(test_plain="def test_plain():\n    assert False\n")
    result = pytester.runpytest_inprocess("test_plain.py")
    result.assert_outcomes(failed=1)
    assert result.ret == 1 and "score PLATINES" not in result.stdout.str()


def test_selection_by_priority_id_and_keyword(pytester, target_profile):
    write(pytester.path / "scen", PASSING, MINOR_FAILING, SKIPPED)
    run(pytester, target_profile, "--ror-priority", "1").assert_outcomes(passed=1, skipped=1)
    run(pytester, target_profile, "--ror-scenario", "ROR-SRV-905").assert_outcomes(failed=1)
    run(pytester, target_profile, "-k", "priority3").assert_outcomes(failed=1)


def test_under_xdist_the_controller_reports_every_scenario(pytester, target_profile):
    write(pytester.path / "scen", PASSING, FAILING, SKIPPED, INCONCLUSIVE, MINOR_FAILING)
    result = run(pytester, target_profile, "-n", "2", "--ror-json", "summary.json", "--ror-junit", "junit.xml",
                 subprocess=True)
    assert result.ret == 1
    document = summary(pytester)
    assert document["counts"] == {"total": 5, "passed": 1, "failed": 2, "skipped": 1, "inconclusive": 1}
    assert document["exit_code"] == 1
    failed = next(s for s in document["scenarios"] if s["id"] == "ROR-SRV-902")
    assert failed["failures"][0]["yaml_line"] == 11 and failed["requests"] == 1
    assert (pytester.path / "junit.xml").read_text(encoding="utf-8").count("<testcase") == 5


def test_without_a_target_each_process_starts_the_embedded_server(pytester):
    write(pytester.path / "scen", PASSING)
    result = pytester.runpytest_inprocess("--ror-scenarios", "scen", "-p", "no:cacheprovider", "scen")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
