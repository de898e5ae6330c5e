"""Package loading: bundled name#version, .tgz, folder, FHIR package cache, dependencies,
snapshot generation on demand, clear errors, and the load-time budget."""
from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

import pytest

from harness.fhir.packages import BUNDLED_PACKAGES, PackageError, PackageSet, ig_spec, open_package
from harness.fhir.validation import primitives

ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"


def test_default_ig_is_070_with_its_dependencies():
    ps = PackageSet(ig_spec(None))
    assert [p.label for p in ps.packages][:2] == ["ans.fhir.fr.ror#0.7.0", "hl7.fhir.r4.core#4.0.1"]
    assert {"hl7.fhir.fr.core#1.1.0", "ans.annuaire.fhir.r4#0.2.0"} <= {p.label for p in ps.packages}


def test_011_reports_its_missing_dependency_instead_of_hiding_it():
    ps = PackageSet(ig_spec("0.1.1"))
    assert "hl7.terminology.r4#5.0.0" in ps.missing


def test_tgz_folder_and_fhir_cache(tmp_path, monkeypatch):
    tgz = BUNDLED_PACKAGES / "ans.annuaire.fhir.r4-0.2.0.tgz"
    from_tgz = open_package(tgz)
    assert from_tgz.label == "ans.annuaire.fhir.r4#0.2.0" and from_tgz.index
    cache = tmp_path / "fhir-cache"
    with tarfile.open(tgz) as tar:
        tar.extractall(cache / "my.pkg#1.0.0", filter="data")
    manifest = cache / "my.pkg#1.0.0" / "package" / "package.json"
    manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), name="my.pkg", version="1.0.0")))
    monkeypatch.setenv("FHIR_PACKAGE_CACHE", str(cache))
    from_cache = open_package("my.pkg#1.0.0")
    assert from_cache.label == "my.pkg#1.0.0"
    assert from_cache.load(from_cache.index[0]["filename"]) == from_tgz.load(from_tgz.index[0]["filename"])


def test_folder_without_index_is_indexed(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "version": "1", "dependencies": {}}))
    (tmp_path / "ValueSet-a.json").write_text(json.dumps({"resourceType": "ValueSet", "id": "a", "url": "http://x/a"}))
    ps = PackageSet(tmp_path)
    assert ps.resolve("http://x/a")["id"] == "a"


@pytest.mark.parametrize("spec, message", [
    ("nope#1.0", "not found"), ("no-version", "name#version"),
])
def test_unknown_package_is_a_clear_error(spec, message):
    with pytest.raises(PackageError, match=message):
        PackageSet(spec)


def test_broken_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(PackageError, match="not a readable package archive"):
        open_package(bad)


def test_differential_only_profile_gets_a_snapshot_and_missing_base_fails_clearly():
    ps = PackageSet(ig_spec(None))
    sd = ps.structure_definition(ROR + "ror-location")
    assert len(sd["snapshot"]["element"]) > len(sd["differential"]["element"])
    with pytest.raises(PackageError, match="sdc"):
        ps.structure_definition(ROR + "ror-questionnaire-healthcareservice")
    with pytest.raises(PackageError, match="not found"):
        ps.structure_definition("https://example.org/StructureDefinition/none")


def test_load_time_budget():
    """Open the default package set from the archives and snapshot the five main profiles."""
    start = time.perf_counter()
    ps = PackageSet(ig_spec(None))
    for name in ("ror-location", "ror-organization", "ror-healthcareservice", "ror-practitionerrole", "ror-task"):
        ps.structure_definition(ROR + name)
    assert time.perf_counter() - start < 2.0


def test_primitive_regexes_are_those_of_the_core_package():
    ps = PackageSet("hl7.fhir.r4.core#4.0.1")
    for name, regex in primitives.REGEX.items():
        sd = ps.structure_definition(f"http://hl7.org/fhir/StructureDefinition/{name}")
        value = next(e for e in sd["snapshot"]["element"] if e["path"] == f"{name}.value")
        found = [x["valueString"] for t in value["type"] for x in t.get("extension", ())
                 if x["url"].endswith("/regex")]
        assert found == [regex], name
