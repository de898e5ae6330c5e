"""Pinned verdicts of a real third-party FHIR client, SMART on FHIR's `fhirclient` (PyPI, pinned),
driven as the consumer through `--consumer-cmd` (tools/peers/run_consumer_peer.py,
docs/peers/fhirclient.md).

One test, one driver run on ten consumer scenarios (about 15 s once the venv exists, plus about
10 s to install it the first time), checking the outcomes and, for each failure, that fhirclient
fails for the reason docs/peers/fhirclient.md gives. When fhirclient cannot be installed here
(registry unreachable), that test is skipped with the driver's printed reason.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "peers"))
sys.path.insert(0, str(ROOT / "tools" / "peers" / "fhirclient"))

import page  # tools/peers/fhirclient/page.py
import run_consumer_peer
from peer_base import PeerUnavailable

SCENARIOS = ["ROR-CNS-001", "ROR-CNS-002", "ROR-CNS-003", "ROR-CNS-005", "ROR-CNS-016", "ROR-CNS-017",
             "ROR-CNS-020", "ROR-CNS-021", "ROR-CNS-022", "ROR-CNS-024"]
PINNED = {
    "ROR-CNS-001": "failed",  # include() drops organization / PractitionerRole:service; paging right
    "ROR-CNS-002": "failed",  # $gte writes _lastUpdated=>= (not an R4 prefix), not ge
    "ROR-CNS-003": "passed",  # identifier= only
    "ROR-CNS-005": "passed",  # client credentials by fhirclient, Ror-* headers by the adapter
    "ROR-CNS-016": "failed",  # no token renewal on 401
    "ROR-CNS-017": "failed",  # PATCH: not in fhirclient, adapter says "not supported"
    "ROR-CNS-020": "failed",  # no retry on 429
    "ROR-CNS-021": "failed",  # loops on a cyclic next link
    "ROR-CNS-022": "passed",  # unknown extension kept as a generic Extension
    "ROR-CNS-024": "passed",  # raises on 500 (diagnostics printed by the adapter)
}


def _checks(scenario: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for f in scenario["failures"]:
        found.setdefault(f["check"], []).append(f)
    return found


def test_fhirclient_pinned_verdicts(tmp_path):
    """One test, one driver run: pytest-xdist never installs or runs the client twice at once."""
    report = tmp_path / "report"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "peers" / "run_consumer_peer.py"), "fhirclient",
                           "--report-dir", str(report), *(f"--scenario={s}" for s in SCENARIOS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode == run_consumer_peer.EXIT_UNAVAILABLE:
        pytest.skip(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "fhirclient cannot be installed")
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    run = {s["id"]: s for s in json.loads((report / "summary.json").read_text(encoding="utf-8"))["scenarios"]}

    assert {sid: run[sid]["outcome"] for sid in SCENARIOS} == PINNED
    assert not any(s["outcome"] == "inconclusive" for s in run.values())

    # ROR-CNS-001: every next link followed, each page once, but the IG include set cut to one include
    checks = _checks(run["ROR-CNS-001"])
    assert "run.all_next_followed" not in checks and "run.no_refetch" not in checks
    unexpected = checks["request.unexpected"][0]["actual"]
    assert "_include=HealthcareService:location" in unexpected
    assert "HealthcareService:organization" not in unexpected and "PractitionerRole:service" not in unexpected
    # ROR-CNS-002: fhirclient's $gte writes `>=`, not the R4 prefix ge: refused 400
    unexpected = _checks(run["ROR-CNS-002"])["request.unexpected"][0]["actual"]
    assert "_lastUpdated=>=" in unexpected and "(réponse 400)" in unexpected
    # ROR-CNS-016: one token only, the 401 ends the extraction
    checks = _checks(run["ROR-CNS-016"])
    assert checks["request.count"][0]["actual"] == "1"
    assert "FHIRUnauthorizedException" in checks["consumer.exit"][0]["actual"]
    # ROR-CNS-017: no PATCH in fhirclient: the adapter says so
    assert "task not supported by this adapter" in _checks(run["ROR-CNS-017"])["consumer.exit"][0]["actual"]
    # ROR-CNS-020: no second try after the 429
    checks = _checks(run["ROR-CNS-020"])
    assert checks["request.count"][0]["actual"] == "1" and "429" in checks["consumer.exit"][0]["actual"]
    # ROR-CNS-021: loops on the cyclic next link until the harness stops it
    checks = _checks(run["ROR-CNS-021"])
    assert "run.no_refetch" in checks and "consumer.stopped" in checks


def test_unavailable_client_exits_4_with_the_reason(monkeypatch, capsys, tmp_path):
    def broken(self):
        raise PeerUnavailable("pip install fhirclient==4.4.0 (PyPI) failed (exit 1): no network")

    monkeypatch.setattr(run_consumer_peer.FhirClientPeer, "install", broken)
    assert run_consumer_peer.main(["fhirclient", "--report-dir", str(tmp_path)]) == 4
    assert "fhirclient unavailable: pip install fhirclient==4.4.0 (PyPI) failed" in capsys.readouterr().err
    assert not (tmp_path / "summary.json").exists()  # nothing was run


def test_every_verdict_is_well_formed():
    verdicts = yaml.safe_load((ROOT / "tools" / "peers" / "fhirclient" / "consumer-verdicts.yaml").read_text(encoding="utf-8"))
    for sid, v in verdicts.items():
        assert v["kind"] in ("client", "adapter", "harness", "note"), sid
        assert v["text"].strip(), sid
        if v["kind"] != "note":
            assert v.get("reference"), sid
    kinds = {"passed": {"note"}, "failed": {"client", "adapter", "harness"}}
    for sid, outcome in PINNED.items():  # each pinned failure is explained, each pinned pass has its note
        assert verdicts[sid]["kind"] in kinds[outcome], sid


def test_page_flags_a_failure_without_verdict_as_not_analysed():
    summary = {"score": 0, "counts": {"total": 2, "passed": 1, "failed": 1, "skipped": 0, "inconclusive": 0},
               "scenarios": [{"id": "ROR-CNS-003", "title": "a", "priority_label": "critique", "outcome": "passed",
                              "failures": [], "requests": 2},
                             {"id": "ROR-CNS-999", "title": "b", "priority_label": "majeur", "outcome": "failed",
                              "failures": [{"step": "s", "check": "request.count", "message_fr": "absente", "actual": "0"}],
                              "requests": 1}]}
    text = page.render({"version": "fhirclient 4.4.0", "suite_s": 1.0}, summary,
                       {"ROR-CNS-003": {"kind": "note", "text": "fine"}}, "about")
    assert "failures not analysed yet: ROR-CNS-999" in text
    assert "**not analysed**: étape « s » (request.count)" in text
    assert "| fine |" in text
