"""Snapshot generation, proven against the official snapshots of the ROR IG 0.1.1 package.

Each 0.1.1 StructureDefinition is regenerated from its differential alone and compared, element
by element, with the snapshot the HL7 IG publisher produced, on the fields that carry validation
meaning. The differences that remain are listed in ALLOWED with their reason (see
docs/snapshot-generation.md); an unexplained difference, or an allowed one that disappeared,
fails the test.
"""
from __future__ import annotations

import copy
import time

import pytest

from harness.fhir.packages import PackageError, PackageSet
from harness.fhir.snapshot import EXTENSION_SLICING, generate_snapshot

ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
CORE = "http://hl7.org/fhir/StructureDefinition/"

_ANNUAIRE_ADXP = ("official build resolved iso21090-ADXP-streetNameType to the Annuaire 0.2.0 copy "
                  "(FHIR 4.0.0); PackageSet resolves the core 4.0.1 definition first")
#: (field, end of the element id) -> why the official snapshot differs there.
ALLOWED = {
    ("max", "line.extension:streetNameType.extension"): _ANNUAIRE_ADXP + " (extension 0..* there, 0..0 in core)",
    ("type", "line.extension:streetNameType.url"): _ANNUAIRE_ADXP + " (url typed uri there, System.String in core)",
    ("min", "line.extension:streetNameType.value[x]"): _ANNUAIRE_ADXP + " (value[x] 0..1 there, 1..1 in core)",
    ("max", "telecom.extension:emailType"): ("FR Core 1.1.0's own snapshot kept 0..* for this slice; we take the "
                                             "0..1 of the extension's root, as the HL7 generator now does"),
}


def _projection(el: dict) -> dict:
    """The fields of an element that carry validation meaning."""
    binding = el.get("binding") or {}
    base = el.get("base") or {}
    return {
        **{k: el.get(k) for k in ("id", "path", "sliceName", "min", "max", "contentReference",
                                  "maxLength", "mustSupport", "slicing")},
        "type": [(t.get("code"), t.get("profile", []), t.get("targetProfile", [])) for t in el.get("type", [])],
        "fixed": {k: v for k, v in el.items() if k.startswith(("fixed", "pattern"))},
        "binding": (binding.get("strength"), binding.get("valueSet")),
        "constraint": sorted((c.get("key"), c.get("expression")) for c in el.get("constraint", [])),
        "base": (base.get("path"), base.get("min"), base.get("max")),
    }


@pytest.fixture(scope="module")
def ror011() -> PackageSet:
    return PackageSet("ans.fhir.fr.ror#0.1.1")


def _allowed(field: str, element_id: str) -> tuple[str, str] | None:
    return next((key for key in ALLOWED if key[0] == field and element_id.endswith(key[1])), None)


def test_regenerated_011_snapshots_match_the_official_ones(ror011: PackageSet) -> None:
    unexplained, used, compared = [], set(), 0
    sds = [r for r in ror011.root.resources() if r["resourceType"] == "StructureDefinition"]
    assert len(sds) == 49
    for sd in sds:
        official = [_projection(e) for e in sd["snapshot"]["element"]]
        generated = generate_snapshot({k: v for k, v in sd.items() if k != "snapshot"}, ror011)
        mine = {e["id"]: e for e in map(_projection, generated["snapshot"]["element"])}
        official_ids = [e["id"] for e in official]
        assert [i for i in mine if i in set(official_ids)] == [i for i in official_ids if i in mine], sd["id"]
        differences = [("missing", e["id"]) for e in official if e["id"] not in mine]
        differences += [("extra", i) for i in mine if i not in set(official_ids)]
        for expected in official:
            got = mine.get(expected["id"])
            if got is not None:
                compared += 1
                differences += [(field, expected["id"]) for field in expected if expected[field] != got[field]]
        for field, element_id in differences:
            key = _allowed(field, element_id)
            if key is None:
                unexplained.append(f"{sd['id']} {element_id} {field}")
            used.add(key)
    assert compared == 1297
    assert unexplained == []
    assert used == set(ALLOWED), f"allowed differences that no longer occur: {set(ALLOWED) - used}"


def test_generation_does_not_modify_its_input_nor_its_bases(ror011: PackageSet) -> None:
    sd = ror011.resolve(ROR + "ror-organization", "StructureDefinition")
    stripped = {k: v for k, v in sd.items() if k != "snapshot"}
    bases = [ror011.structure_definition(url) for url in
             ("http://interopsante.org/fhir/StructureDefinition/FrOrganization", CORE + "Identifier")]
    before = copy.deepcopy([stripped, bases])
    generated = generate_snapshot(stripped, ror011)
    assert [stripped, bases] == before and "snapshot" not in stripped
    generated["snapshot"]["element"][0]["min"] = 42
    assert generate_snapshot(stripped, ror011)["snapshot"]["element"][0]["min"] == 0


#: 0.7.0 profiles derived from SDC profiles, which no bundled package holds.
MISSING_BASE = {
    "ror-launchcontext": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-launchContext",
    "ror-questionnaire-healthcareservice": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-pop-exp",
}


def test_every_070_structure_definition_generates_or_fails_clearly() -> None:
    ror070 = PackageSet("ans.fhir.fr.ror#0.7.0")
    sds = [r for r in ror070.root.resources() if r["resourceType"] == "StructureDefinition"]
    started = time.perf_counter()
    generated, failed = {}, {}
    for sd in sds:
        try:
            generated[sd["id"]] = ror070.structure_definition(sd["url"])
        except PackageError as exc:
            failed[sd["id"]] = str(exc)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"generating the 0.7.0 snapshots took {elapsed:.3f} s"
    assert set(failed) == set(MISSING_BASE)
    for sd_id, message in failed.items():
        assert f"its base {MISSING_BASE[sd_id]} is not available" in message
    assert len(generated) == 55
    for sd in sds:
        if sd["id"] in generated:
            ids = [e["id"] for e in generated[sd["id"]]["snapshot"]["element"]]
            assert len(ids) == len(set(ids)), sd["id"]
            assert {d["id"] for d in sd["differential"]["element"]} <= set(ids), sd["id"]


def _elements(ps: PackageSet, url: str) -> dict[str, dict]:
    return {e["id"]: e for e in ps.structure_definition(url)["snapshot"]["element"]}


def test_070_location_keeps_the_source_as_written() -> None:
    location = _elements(PackageSet("ans.fhir.fr.ror#0.7.0"), ROR + "ror-location")
    # sliced without `slicing` in 0.7.0, and not sliced in core at resource level: by-url slicing
    assert location["Location.extension"]["slicing"] == EXTENSION_SLICING
    assert location["Location.extension"]["min"] == 2
    assert location["Location.extension:ror-commune-cog"]["type"][0]["profile"] == [ROR + "ror-commune-cog"]
    assert "Location.extension:ror-commune-cog.url" not in location  # a profiled slice stays one element
    # source defect kept: a string sliced by `url`
    assert location["Location.alias"]["slicing"]["discriminator"] == [{"type": "value", "path": "url"}]
    assert location["Location.address.line.extension"]["slicing"] == EXTENSION_SLICING
    value = location["Location.address.line.extension:streetNameType.value[x]"]
    assert value["binding"]["strength"] == "required" and value["type"] == [{"code": "string"}]
    code = location["Location.identifier:idLocation.type.coding.code"]
    assert code["min"] == 1 and code["base"]["path"] == "Coding.code"


def test_070_healthcareservice_expands_a_profiled_extension_slice() -> None:
    hcs = _elements(PackageSet("ans.fhir.fr.ror#0.7.0"), ROR + "ror-healthcareservice")
    act = "HealthcareService.characteristic:specificAct.extension:ror-act-type"
    assert hcs[f"{act}.url"]["fixedUri"] == ROR + "ror-act-type"
    assert "patternCode" in hcs[f"{act}.value[x]"]


def _profile(base: str, type_: str, elements: list[dict]) -> dict:
    return {"resourceType": "StructureDefinition", "url": "http://example.org/sd", "type": type_,
            "baseDefinition": base, "derivation": "constraint", "differential": {"element": elements}}


@pytest.fixture(scope="module")
def core() -> PackageSet:
    return PackageSet("hl7.fhir.r4.core#4.0.1")


def test_reslices_follow_their_slice(core: PackageSet) -> None:
    sd = _profile(CORE + "Patient", "Patient", [
        {"id": "Patient.identifier", "path": "Patient.identifier",
         "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
        {"id": "Patient.identifier:a", "path": "Patient.identifier", "sliceName": "a",
         "slicing": {"discriminator": [{"type": "value", "path": "value"}], "rules": "closed"}},
        {"id": "Patient.identifier:a.system", "path": "Patient.identifier.system", "min": 1},
        {"id": "Patient.identifier:a/b", "path": "Patient.identifier", "sliceName": "a/b", "min": 1},
    ])
    elements = generate_snapshot(sd, core)["snapshot"]["element"]
    ids = [e["id"] for e in elements]
    start = ids.index("Patient.identifier:a")
    children = ("id", "extension", "use", "type", "system", "value", "period", "assigner")
    assert ids[start + 1:start + 11] == [*(f"Patient.identifier:a.{n}" for n in children),
                                         "Patient.identifier:a/b", "Patient.active"]
    assert elements[start + 9]["min"] == 1 and elements[start + 9]["path"] == "Patient.identifier"
    assert "slicing" not in elements[start + 9]  # a new slice never inherits the slicer's slicing


def test_content_reference_is_spelled_out_when_constrained(core: PackageSet) -> None:
    sd = _profile(CORE + "Questionnaire", "Questionnaire", [
        {"id": "Questionnaire.item.item.text", "path": "Questionnaire.item.item.text", "min": 1}])
    elements = {e["id"]: e for e in generate_snapshot(sd, core)["snapshot"]["element"]}
    nested = elements["Questionnaire.item.item"]
    assert "contentReference" not in nested and nested["type"] == [{"code": "BackboneElement"}]
    assert elements["Questionnaire.item.item.text"]["min"] == 1
    assert elements["Questionnaire.item.item.item"]["contentReference"] == "#Questionnaire.item"


def test_choice_renamed_in_the_differential_becomes_a_type_slice(core: PackageSet) -> None:
    sd = _profile(CORE + "Observation", "Observation", [
        {"id": "Observation.valueQuantity.unit", "path": "Observation.valueQuantity.unit", "min": 1}])
    elements = {e["id"]: e for e in generate_snapshot(sd, core)["snapshot"]["element"]}
    assert elements["Observation.value[x]"]["slicing"]["rules"] == "closed"
    assert elements["Observation.value[x]"]["type"] == [{"code": "Quantity"}]
    assert elements["Observation.value[x]:valueQuantity"]["type"] == [{"code": "Quantity"}]
    assert elements["Observation.value[x]:valueQuantity.unit"]["min"] == 1


def test_unknown_type_profile_fails_only_when_it_must_be_expanded(core: PackageSet) -> None:
    unknown = "http://example.org/StructureDefinition/nowhere"
    slice_ = {"id": "Patient.extension:x", "path": "Patient.extension", "sliceName": "x",
              "type": [{"code": "Extension", "profile": [unknown]}]}
    named_only = generate_snapshot(_profile(CORE + "Patient", "Patient", [slice_]), core)
    assert [e["type"] for e in named_only["snapshot"]["element"] if e["id"] == "Patient.extension:x"] == [
        slice_["type"]]
    below = _profile(CORE + "Patient", "Patient", [
        slice_, {"id": "Patient.extension:x.url", "path": "Patient.extension.url", "fixedUri": "x"}])
    with pytest.raises(PackageError, match=f"the type of Patient.extension, {unknown} is not available"):
        generate_snapshot(below, core)


def test_unknown_element_fails_clearly(core: PackageSet) -> None:
    with pytest.raises(PackageError, match="Patient has no element nickname"):
        generate_snapshot(_profile(CORE + "Patient", "Patient", [
            {"id": "Patient.nickname", "path": "Patient.nickname", "min": 1}]), core)
