"""Pinned verdicts of the server catalogue against real third-party FHIR servers (tools/peers/).

Each peer test installs the peer from its pinned files, loads the `small` dataset, runs the
catalogue and checks a handful of known verdicts: deviations the harness must catch (failed) and
real conformance it must not fail (passed), plus pre-flight skips. One test per peer, so that
pytest-xdist never starts the same peer twice. When the peer cannot be installed here (no
Node/npm, registry unreachable), the test is skipped with the driver's reason.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "peers"))

import results_page
import run_peer

#: scenario id -> expected outcome, per peer. Only scenarios whose verdict is understood
#: (docs/peers/<peer>.md) are pinned; the catalogue grows, so unknown ids are not required.
PINNED = {
    "sekmet-fhir": {
        "ROR-SRV-032": "passed",   # string search: starts-with, case- and accent-insensitive
        "ROR-SRV-033": "passed",   # _lastUpdated=lt
        "ROR-SRV-060": "passed",   # paging links
        "ROR-SRV-010": "passed",   # read, validated against the ROR profile
        "ROR-SRV-021": "failed",   # no Ror-* header policy
        "ROR-SRV-020": "failed",   # no auth configured
        "ROR-SRV-035": "skipped",  # Location:address-postalcode not declared (pre-flight)
        "ROR-SRV-031": "skipped",  # ROR custom parameter HealthcareService:characteristic not declared
        "ROR-SRV-007": "failed",   # its CapabilityStatement declares none of the ROR parameters
        "ROR-SRV-082": "passed",   # _lastUpdated ge/gt at the boundary, facts from the stamps it set at load
        "ROR-SRV-062": "failed",   # default page size 20, not the ROR 200 (RG_RECH_52)
        "ROR-SRV-063": "passed",   # _count paging (not declared in its CapabilityStatement, no pre-flight skip)
        "ROR-SRV-067": "failed",   # :above on a chained reference ignored (lenient), every service returned
        "ROR-SRV-087": "failed",   # $export _since includes the boundary instant
    },
    "medplum": {
        "ROR-SRV-032": "failed",   # string search means "contains", not accent-insensitive
        "ROR-SRV-035": "failed",   # chained string search: postal code 97490 matches "49"
        "ROR-SRV-031": "passed",   # ROR custom token parameter (registered from the IG by the host)
        "ROR-SRV-033": "passed",   # _lastUpdated (dataset dates kept by the seeding load)
        "ROR-SRV-060": "passed",   # paging (links from the host, pages from Medplum)
        "ROR-SRV-010": "passed",
        "ROR-SRV-021": "failed",   # no Ror-* header policy
        "ROR-SRV-037": "skipped",  # near-insee-code (special) not declared: pre-flight
        "ROR-SRV-046": "failed",   # name:exact ignored
        "ROR-SRV-062": "failed",   # default page size 20 (Medplum's DEFAULT_SEARCH_COUNT), not 200
        "ROR-SRV-065": "passed",   # _sort=-_lastUpdated over every page
    },
}


def _run_pinned(peer: str, tmp_path: Path) -> None:
    if peer not in run_peer.PEER_CLASSES:
        pytest.skip(f"{peer}: no host in tools/peers")
    record = run_peer.run(peer, "small", 0, tmp_path / "report")
    if record["status"] == "unavailable":
        pytest.skip(f"{peer} cannot be installed here: {record['reason']}")
    assert record["status"] == "ran", record.get("reason")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    outcomes = {s["id"]: s["outcome"] for s in summary["scenarios"]}
    wrong = {sid: (want, outcomes[sid]) for sid, want in PINNED[peer].items()
             if sid in outcomes and outcomes[sid] != want}
    assert not wrong, f"{peer}: pinned verdicts changed (expected, got): {wrong}"
    assert summary["counts"]["inconclusive"] == 0
    for s in summary["scenarios"]:
        if s["outcome"] == "skipped" and s["id"] in PINNED[peer]:
            assert "CapabilityStatement" in s["reason"], s["reason"]
    explained = results_page.load_verdicts(peer)
    failed = [s["id"] for s in summary["scenarios"] if s["outcome"] == "failed"]
    print(f"{peer}: {summary['counts']}; failed without an explanation in verdicts.yaml: "
          f"{[sid for sid in failed if sid not in explained]}")


def test_sekmet_fhir_pinned_verdicts(tmp_path):
    _run_pinned("sekmet-fhir", tmp_path)


def test_medplum_pinned_verdicts(tmp_path):
    _run_pinned("medplum", tmp_path)


def _scenario_ids() -> set[str]:
    ids = set()
    for path in (ROOT / "scenarios" / "server").rglob("*.yaml"):
        ids.add(path.name[:11])
    return ids


@pytest.mark.parametrize("peer", sorted(p.name for p in (ROOT / "tools" / "peers").iterdir()
                                        if (p / "verdicts.yaml").exists()))
def test_verdicts_files_are_well_formed(peer):
    verdicts = results_page.load_verdicts(peer)
    known = _scenario_ids()
    for sid, v in verdicts.items():
        assert sid in known, f"{peer}/verdicts.yaml names {sid}, not a scenario of scenarios/server"
        for entry in (v, v.get("inconclusive") or v):  # the optional entry for an inconclusive outcome
            assert entry["kind"] in results_page.KIND, (sid, entry["kind"])
            assert entry["text"].strip() and entry["reference"].strip(), sid
        assert set(v) <= {"kind", "text", "reference", "inconclusive"}, sid


def test_results_page_flags_unexplained_failures():
    record = {"version": "peer 1", "scale": "small", "seed": 0, "resources": 3, "load_s": 1.0, "suite_s": 2.0}
    summary = {"score": 0, "counts": {"total": 3, "passed": 1, "failed": 1, "skipped": 1, "inconclusive": 0},
               "scenarios": [
                   {"id": "ROR-SRV-001", "title": "a", "priority_label": "critique", "outcome": "passed"},
                   {"id": "ROR-SRV-002", "title": "b", "priority_label": "majeur", "outcome": "failed",
                    "failures": [{"step": "s", "check": "status", "message_fr": "statut 406 attendu"}]},
                   {"id": "ROR-SRV-035", "title": "c", "priority_label": "critique", "outcome": "skipped",
                    "reason": "paramètre non déclaré dans le CapabilityStatement"}]}
    page = results_page.render("peer", record, summary, {}, "about")
    assert "failures not analysed yet: ROR-SRV-002" in page
    assert "**not analysed**: étape « s » (status) : statut 406 attendu" in page
    assert "ignoré (pré-vol) | paramètre non déclaré dans le CapabilityStatement" in page
    page = results_page.render("peer", record, summary,
                               {"ROR-SRV-002": {"kind": "harness", "text": "t", "reference": "r"}}, "about")
    assert "false failures): ROR-SRV-002" in page and "failures not analysed yet: none" in page


def test_an_inconclusive_outcome_takes_its_own_explanation():
    record = {"version": "peer 1", "scale": "medium", "seed": 0, "resources": 3, "load_s": 1.0, "suite_s": 2.0,
              "last_updated": "set by the peer at load"}
    summary = {"score": 0, "counts": {"total": 1, "passed": 0, "failed": 0, "skipped": 0, "inconclusive": 1},
               "scenarios": [{"id": "ROR-SRV-087", "title": "a", "priority_label": "mineur", "outcome": "inconclusive",
                              "failures": [{"step": "s", "check": "export.files", "message_fr": "tronqué"}]}]}
    verdicts = {"ROR-SRV-087": {"kind": "deviation", "text": "boundary included", "reference": "r",
                                "inconclusive": {"kind": "harness", "text": "file too big", "reference": "r2"}}}
    page = results_page.render("peer", record, summary, verdicts, "about")
    assert "**erreur du harnais**: file too big (r2)" in page and "boundary included" not in page
    assert "not counted against the peer): ROR-SRV-087" in page
    assert "| meta.lastUpdated of the loaded resources | set by the peer at load |" in page
    summary["scenarios"][0]["outcome"] = "failed"
    assert "**écart du pair**: boundary included (r)" in results_page.render("peer", record, summary, verdicts, "about")


def test_profile_has_no_auth(tmp_path):
    path = run_peer.write_profile(tmp_path / "t.yaml", "http://127.0.0.1:1/fhir", "x", {"a": 1})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "auth" not in data and data["facts"] == {"a": 1}


def test_unavailable_peer_is_reported_not_run(tmp_path, monkeypatch):
    def refuse(self):
        raise run_peer.PeerUnavailable("npm ci failed (exit 1): registry unreachable")

    monkeypatch.setattr(run_peer.PEER_CLASSES["sekmet-fhir"], "install", refuse)
    record = run_peer.run("sekmet-fhir", "small", 0, tmp_path)
    assert record["status"] == "unavailable" and record["exit_code"] == run_peer.EXIT_UNAVAILABLE
    assert "registry unreachable" in record["reason"]
    assert not (tmp_path / "summary.json").exists()
