"""Terminology: value set membership from the NOS fixtures and FHIR packages, tx server fallback."""
from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from harness.fhir.nos_fixtures import ALIASES, MISSING, NOS_DIR
from harness.fhir.packages import PackageSet
from harness.fhir.terminology import Terminology
from harness.fhir.vs_expansion import Expander

NOS = "https://mos.esante.gouv.fr/NOS/"
J237 = NOS + "JDV_J237-RegionOM-ROR/FHIR/JDV-J237-RegionOM-ROR"
J124 = NOS + "JDV_J124-Commune/FHIR/JDV-J124-Commune"
REGION = NOS + "TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"
ADDRESS_USE = "http://hl7.org/fhir/ValueSet/address-use"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ENCOUNTER = "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode"
TERRITORIAL = "https://interop.esante.gouv.fr/ig/fhir/ror/ValueSet/code-region-territorial-division-ror-valueset"


@pytest.fixture(scope="module")
def packages() -> PackageSet:
    return PackageSet("ans.fhir.fr.ror#0.7.0")


@pytest.fixture(scope="module")
def packages_011() -> PackageSet:
    return PackageSet("ans.fhir.fr.ror#0.1.1")


@pytest.fixture(scope="module")
def term(packages: PackageSet) -> Terminology:
    return Terminology(packages)


def _manifest() -> list[dict]:
    return json.loads((NOS_DIR / "manifest.json").read_text())["valueSets"]


def _bound_value_sets(packages: PackageSet) -> set[str]:
    out = set()
    for sd in packages.root.resources():
        for part in ("differential", "snapshot"):
            for el in (sd.get(part) or {}).get("element", []):
                if (el.get("binding") or {}).get("valueSet"):
                    out.add(el["binding"]["valueSet"].partition("|")[0])
    return out


def _all_codes(concepts: list[dict]) -> set[str]:
    return {c["code"] for c in concepts} | {code for c in concepts for code in _all_codes(c.get("concept", []))}


# -- fixture integrity and defect tables --------------------------------------------------------

def test_every_nos_fixture_matches_its_manifest_sha256() -> None:
    entries = _manifest()
    assert len(entries) == len(list(NOS_DIR.glob("*.json.gz"))) == 77
    for entry in entries:
        data = gzip.decompress((NOS_DIR / entry["file"]).read_bytes())
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert json.loads(data)["url"] == entry["url"], entry["file"]


def test_aliases_are_still_needed_and_bound_by_ror(packages: PackageSet, packages_011: PackageSet) -> None:
    by_file = {e["file"]: e["url"] for e in _manifest()}
    bound = _bound_value_sets(packages) | _bound_value_sets(packages_011)
    for bound_url, (file, reason) in ALIASES.items():
        assert file in by_file and by_file[file] != bound_url, file
        assert bound_url in bound and reason
    assert set(MISSING) <= bound


def test_corrupted_fixture_is_not_checked_never_passed(tmp_path, packages: PackageSet) -> None:
    nos = tmp_path / "nos"
    shutil.copytree(NOS_DIR, nos)
    target = nos / "ValueSet-JDV-J237-RegionOM-ROR.json.gz"
    vs = json.loads(gzip.decompress(target.read_bytes()))
    vs["compose"]["include"][0]["concept"].append({"code": "99"})
    target.write_bytes(gzip.compress(json.dumps(vs).encode()))
    verdict = Terminology(packages, nos_dir=nos).check(J237, REGION, "99")
    assert verdict.status == "not-checked"
    assert "sha256" in verdict.message


# -- NOS value sets ---------------------------------------------------------------------------

def test_nos_code_through_the_bound_alias(term: Terminology) -> None:
    member = term.check(J237, REGION, "84")
    assert member.status == "member"
    assert member.source == "fixtures/nos/ValueSet-JDV-J237-RegionOM-ROR.json.gz (version 0.1.0)"
    assert ".tabs" in member.message
    assert term.check(J237, REGION, "99").status == "not-member"
    assert term.describe(J237) == member.source


def test_nos_code_under_another_system_is_not_member_with_a_hint(term: Terminology) -> None:
    verdict = term.check(J237, NOS + "TRE_R20-Pays/FHIR/TRE-R20-Pays", "84")
    assert verdict.status == "not-member"
    assert REGION in verdict.message


def test_j208_misspelt_binding_of_ror_011(packages_011: PackageSet) -> None:
    bound = NOS + "JDV_J208-CiviliteExcercice-ROR/FHIR/JDV-J208-CiviliteExcercice-ROR"
    system = NOS + "TRE_R11-CiviliteExercice/FHIR/TRE-R11-CiviliteExercice"
    term = Terminology(packages_011)
    assert term.check(bound, system, "DR").status == "member"
    assert term.check(bound, system, "XX").status == "not-member"


@pytest.mark.parametrize("valueset", ["JDV_J228-TypeCaracteristiqueEquipement-ROR/FHIR/JDV-J228-TypeCaracteristiqueEquipement-ROR",
                                      "JDV_J241-ThematiqueAnomalie-ROR/FHIR/JDV-J241-ThematiqueAnomalie-ROR"])
def test_system_less_includes_match_on_code_alone_and_say_so(term: Terminology, valueset: str) -> None:
    verdict = term.check(NOS + valueset, "https://example.org/any-system", "001" if "J228" in valueset else "01")
    assert verdict.status == "member"
    assert "code alone" in verdict.message
    assert term.check(NOS + valueset, None, "999").status == "not-member"


def test_j29_value_set_canonical_used_as_system(term: Terminology) -> None:
    j29 = NOS + "JDV_J29-PublicPrisEnCharge-ROR/FHIR/JDV-J29-PublicPrisEnCharge-ROR"
    tre_r239 = NOS + "TRE_R239-PublicPrisEnCharge/FHIR/TRE-R239-PublicPrisEnCharge"
    defective = term.check(j29, tre_r239, "06")
    assert defective.status == "member" and "code alone" in defective.message
    assert term.check(j29, tre_r239, "01").message == "in the value set"
    assert term.check(j29, tre_r239, "09").status == "not-member"


def test_missing_communes_are_never_a_pass(term: Terminology) -> None:
    verdict = term.check(J124, NOS + "TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM", "75056")
    assert verdict.status == "not-checked"
    assert "J124" in verdict.message
    assert term.unavailable(J124) == verdict.message
    assert term.describe(J124) is None


def test_version_suffix_is_reported_when_it_differs(term: Terminology) -> None:
    verdict = term.check(J237 + "|9.9.9", REGION, "84")
    assert verdict.status == "member"
    assert "bound version 9.9.9, checked against version 0.1.0" in verdict.message


# -- FHIR package value sets ------------------------------------------------------------------

def test_core_required_value_set_whole_system(term: Terminology) -> None:
    assert term.check(ADDRESS_USE + "|4.0.1", "http://hl7.org/fhir/address-use", "home").status == "member"
    bare = term.check(ADDRESS_USE, None, "work")  # a `code` element carries no system
    assert bare.status == "member"
    assert bare.source == "hl7.fhir.r4.core#4.0.1/ValueSet-address-use.json (4.0.1)"
    assert term.check(ADDRESS_USE, None, "holiday").status == "not-member"
    assert term.unavailable(ADDRESS_USE) is None


def test_ror_whole_system_include(term: Terminology) -> None:
    vs = "https://interop.esante.gouv.fr/ig/fhir/ror/ValueSet/act-type-ror-valueset"
    system = "https://interop.esante.gouv.fr/ig/fhir/ror/CodeSystem/act-type-ror-codesystem"
    assert term.check(vs, system, "specificAct").status == "member"
    assert term.check(vs, system, "otherAct").status == "not-member"


def test_imports_decide_what_they_can(term: Terminology) -> None:
    region = term.check(TERRITORIAL, REGION, "84")  # via the imported J237 (aliased)
    assert region.status == "member"
    assert region.source.startswith("ans.fhir.fr.ror#0.7.0/ValueSet-code-region-territorial-division")
    unknown = term.check(TERRITORIAL, REGION, "99")  # could be in the missing J124 import
    assert unknown.status == "not-checked" and "J124" in unknown.message
    assert term.unavailable(TERRITORIAL) is None
    labels = "http://hl7.org/fhir/ValueSet/security-labels"
    confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    assert term.check(labels, confidentiality, "R").status == "member"
    assert term.check(labels, confidentiality, "ZZ").status == "not-member"


def test_is_a_filter_and_exclusion(term: Terminology, packages: PackageSet) -> None:
    assert term.check(ENCOUNTER, ACT_CODE, "AMB").status == "member"
    assert term.check(ENCOUNTER, ACT_CODE, "ACCTRECEIVABLE").status == "not-member"  # other branch
    root = "_ActEncounterCode"
    assert root in _all_codes(packages.resolve(ACT_CODE, "CodeSystem")["concept"])
    assert term.check(ENCOUNTER, ACT_CODE, root).status == "not-member"  # is-a keeps it, exclude drops it


def test_descendent_of_filter_excludes_the_root(term: Terminology) -> None:
    inactive = "http://hl7.org/fhir/ValueSet/inactive"
    mood = "http://terminology.hl7.org/CodeSystem/v3-ActMood"
    assert term.check(inactive, mood, "EVN.CRT").status == "member"
    assert term.check(inactive, mood, "_ActMoodPredicate").status == "not-member"


@pytest.mark.parametrize("valueset, system, why", [
    ("http://hl7.org/fhir/ValueSet/service-type", "http://terminology.hl7.org/CodeSystem/service-type", "content 'example'"),
    ("http://hl7.org/fhir/ValueSet/example-filter", "http://hl7.org/fhir/CodeSystem/example", "not supported"),
    ("http://hl7.org/fhir/ValueSet/condition-code", "http://snomed.info/sct", "content 'not-present'"),
    ("http://interopsante.org/fhir/ValueSet/fr-civility", NOS + "TRE_R81-Civilite/FHIR/TRE-R81-Civilite", "not available"),
])
def test_undecidable_parts_are_not_checked(term: Terminology, valueset: str, system: str, why: str) -> None:
    verdict = term.check(valueset, system, "1")
    assert verdict.status == "not-checked"
    assert why in verdict.message


def test_unknown_value_set_is_not_checked(packages_011: PackageSet) -> None:
    verdict = Terminology(packages_011).check("http://terminology.hl7.org/ValueSet/v2-0116", "x", "y")
    assert verdict.status == "not-checked"
    assert "not available offline" in verdict.message and "hl7.terminology.r4" in verdict.message


def test_lookups_are_cheap_after_the_first(packages: PackageSet) -> None:
    term = Terminology(packages)
    j16 = NOS + "JDV_J16-ActeSpecifique-ROR/FHIR/JDV-J16-ActeSpecifique-ROR"
    system = NOS + "TRE_R210-ActeSpecifique/FHIR/TRE-R210-ActeSpecifique"
    assert term.check(j16, system, "0190").status == "member"
    start = time.perf_counter()
    statuses = {term.check(j16, system, f"{i:04d}").status for i in range(20_000)}
    assert statuses == {"member", "not-member"}
    assert time.perf_counter() - start < 2.0


# -- terminology server -----------------------------------------------------------------------

class _TxHandler(BaseHTTPRequestHandler):
    """Answers $validate-code: member when the code starts with '75', garbage for code 'junk'."""

    seen: list[dict] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.seen.append({"path": url.path, **query})
        if query.get("code") == "junk":
            body = b"<html>proxy error</html>"
        else:
            result = query.get("code", "").startswith("75")
            body = json.dumps({"resourceType": "Parameters", "parameter": [
                {"name": "result", "valueBoolean": result},
                {"name": "message", "valueString": "found" if result else "unknown code"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tx_server():
    _TxHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TxHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir", _TxHandler.seen
    server.shutdown()
    server.server_close()


def test_tx_server_decides_what_fixtures_cannot(packages: PackageSet, tx_server) -> None:
    url, seen = tx_server
    commune = NOS + "TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
    with Terminology(packages, tx_url=url) as term:
        member = term.check(J124, commune, "75056")
        assert (member.status, member.source) == ("member", url)
        assert "found" in member.message
        assert term.check(J124, commune, "13055").status == "not-member"
        assert term.check(J124, commune, "75056") == member  # cached: no new request
        assert term.check(J237, REGION, "84").status == "member"  # decided offline: no request
        garbage = term.check(J124, commune, "junk")
        assert garbage.status == "inconclusive" and "not JSON" in garbage.message
    assert [s["code"] for s in seen] == ["75056", "13055", "junk"]
    assert seen[0] == {"path": "/fhir/ValueSet/$validate-code", "url": J124, "system": commune, "code": "75056"}


def test_tx_server_dead_port_is_inconclusive(packages: PackageSet) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Terminology(packages, tx_url=f"http://127.0.0.1:{port}", tx_timeout=2.0) as term:
        start = time.perf_counter()
        first = term.check(J124, None, "75056")
        second = term.check(J124, None, "13055")  # server known down: no second wait
        assert time.perf_counter() - start < 3.0
    assert first.status == second.status == "inconclusive"
    assert "unreachable" in first.message and "failed earlier" in second.message


def test_tx_server_that_stalls_times_out_as_inconclusive(packages: PackageSet) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Terminology(packages, tx_url=url, tx_timeout=0.5) as term:
            start = time.perf_counter()
            verdict = term.check(J124, None, "75056")
            elapsed = time.perf_counter() - start
    assert verdict.status == "inconclusive"
    assert "no answer within 0.5 s" in verdict.message
    assert 0.4 < elapsed < 3.0


class _WithValueSet:
    """The real definitions plus one ValueSet of the test: exercises include combinations
    that the vendored data does not contain."""

    def __init__(self, term: Terminology, vs: dict) -> None:
        self.term, self.vs = term, vs

    def value_set(self, url: str) -> tuple[dict | None, str]:
        return (self.vs, "") if url == self.vs["url"] else self.term.value_set(url)

    def code_system(self, url: str) -> dict | None:
        return self.term.code_system(url)


def test_system_and_import_in_one_include_intersect(term: Terminology) -> None:
    address_use = "http://hl7.org/fhir/address-use"
    vs = {"resourceType": "ValueSet", "url": "urn:test:intersection", "compose": {"include": [
        {"system": ACT_CODE, "filter": [{"property": "concept", "op": "is-a", "value": "_ActEncounterCode"}],
         "valueSet": [ENCOUNTER]},
        {"system": address_use, "valueSet": [ENCOUNTER]}]}}
    expansion = Expander(_WithValueSet(term, vs)).expand(vs["url"])
    assert expansion.lookup(ACT_CODE, "AMB") == (True, "")
    assert expansion.lookup(ACT_CODE, "_ActEncounterCode")[0] is False  # in the filter, not in the import
    assert expansion.lookup(address_use, "home")[0] is False  # the import holds no address-use code
    with_missing = {"resourceType": "ValueSet", "url": "urn:test:open", "compose": {"include": [
        {"valueSet": [ENCOUNTER, J124]}]}}
    open_expansion = Expander(_WithValueSet(term, with_missing)).expand(with_missing["url"])
    assert open_expansion.empty_and_open
    assert open_expansion.lookup(ACT_CODE, "AMB")[0] is None  # J124 unknown: the intersection is too
