"""Every check kind of the validator, both ways: a real example passes, one planted fault fails
with the right message id at the right FHIRPath location.

The starting points are the ROR IG 0.7.0 examples (Location and Task validate with no error);
each test mutates one thing.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness.fhir.packages import PackageSet
from harness.fhir.validation import Validator

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "ror-0.7.0"
ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def location() -> dict:
    return example("Location-ror-location-exemple")


def task() -> dict:
    return example("Task-ror-task-exemple")


def errors(result) -> list[tuple[str, str]]:
    return [(i.message_id, i.expression) for i in result.issues if i.is_error]


def issue_ids(result, severity: str | None = None) -> set[str]:
    return {i.message_id for i in result.issues if severity is None or i.severity == severity}


@pytest.mark.parametrize("name", ["Location-ror-location-exemple", "Task-ror-task-exemple"])
def test_ig_examples_are_valid(validator, name):
    result = validator.validate(example(name))
    assert result.ok, errors(result)
    assert result.profiles[0].startswith(ROR)


def test_ig_healthcareservice_example_misses_its_mandatory_care_mode(validator):
    """A real defect of the IG's own example: characteristic:careMode is 1..1 in 0.7.0."""
    result = validator.validate(example("HealthcareService-1234564"))
    assert ("cardinality-min", "HealthcareService") in errors(result)
    assert any("characteristic:careMode" in i.message for i in result.issues)


# -- structure ---------------------------------------------------------------------------------
def test_unknown_element(validator):
    res = location()
    res["colour"] = "blue"
    assert ("unknown-element", "Location.colour") in errors(validator.validate(res))


def test_wrong_json_type(validator):
    res = location()
    res["name"] = 12
    assert ("json-type", "Location.name") in errors(validator.validate(res))


def test_array_expected_and_unexpected(validator):
    res = location()
    res["alias"] = "single"
    res["description"] = ["two", "strings"]
    found = errors(validator.validate(res))
    assert ("json-array-expected", "Location.alias") in found
    assert ("json-array-unexpected", "Location.description") in found


@pytest.mark.parametrize("field, value, type_", [
    ("id", "bad id!", "id"),
    ("meta.lastUpdated", "2024-13-01T00:00:00Z", "instant"),
    ("meta.lastUpdated", "2024-02-30T10:00:00+01:00", "instant"),
])
def test_primitive_formats(validator, field, value, type_):
    res = location()
    target = res
    *parents, last = field.split(".")
    for p in parents:
        target = target[p]
    target[last] = value
    found = [i for i in validator.validate(res).issues if i.message_id == "primitive-format"]
    assert found and found[0].expression == f"Location.{field}" and type_ in found[0].message


def test_integer_boundaries(validator):
    res = location()
    res["telecom"] = [{"value": "0102030405", "rank": 0}]  # rank: positiveInt
    assert ("primitive-format", "Location.telecom[0].rank") in errors(validator.validate(res))
    res["telecom"][0]["rank"] = 1.5
    assert ("primitive-format", "Location.telecom[0].rank") in errors(validator.validate(res))


def test_boolean_as_string(validator):
    res = location()
    res["hoursOfOperation"] = [{"allDay": "yes"}]
    assert ("json-type", "Location.hoursOfOperation[0].allDay") in errors(validator.validate(res))


def test_empty_values_ele_1(validator):
    res = location()
    res["name"] = ""
    res["position"] = {}
    found = errors(validator.validate(res))
    assert ("empty", "Location.name") in found
    assert ("empty", "Location.position") in found


def test_choice_type_not_allowed_and_multiple(validator):
    res = location()
    cog = res["extension"][0]
    assert cog["url"] == ROR + "ror-commune-cog"
    cog["valueString"] = "75056"
    found = errors(validator.validate(res))
    assert ("unknown-element", "Location.extension[0].valueString") in found


def test_primitive_extension_part_is_walked(validator):
    res = location()
    res["_name"] = {"extension": [{"url": "http://example.org/x"}]}  # neither value nor children
    found = validator.validate(res).issues
    assert any(i.message_id in ("extension-unknown",) and i.expression == "Location.name.extension[0]" for i in found)


def test_contained_resource_is_validated(validator):
    res = location()
    res["contained"] = [{"resourceType": "Organization", "id": "o1", "nom": "x"}]
    res["managingOrganization"] = {"reference": "#o1"}
    assert ("unknown-element", "Location.contained[0].nom") in errors(validator.validate(res))


def test_bundle_entries_are_each_validated(validator):
    broken = location()
    broken["status"] = "open"  # not in the required location-status value set
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": 2,
              "entry": [{"fullUrl": "http://x/Location/a", "resource": location(), "search": {"mode": "match"}},
                        {"fullUrl": "http://x/Location/b", "resource": broken, "search": {"mode": "match"}}]}
    found = errors(validator.validate(bundle))
    assert ("binding-required", "Bundle.entry[1].resource.status") in found
    assert not any(e[1].startswith("Bundle.entry[0]") for e in found)


# -- cardinality, fixed / pattern, slicing -------------------------------------------------------
def test_cardinality_min_from_profile(validator):
    res = location()
    del res["meta"]["lastUpdated"]  # 1..1 in RORLocation, 0..1 in core
    assert ("cardinality-min", "Location.meta") in errors(validator.validate(res))


def test_cardinality_max_from_profile(validator):
    res = location()
    res["type"] = res.get("type", []) + [{"text": "a"}, {"text": "b"}]  # 0..1 in RORLocation
    assert ("cardinality-max", "Location.type") in errors(validator.validate(res))


def test_slice_minimum(validator):
    res = location()
    res["extension"] = [e for e in res["extension"] if e["url"] != ROR + "ror-commune-cog"]
    result = validator.validate(res)
    assert any(i.message_id == "cardinality-min" and "extension:ror-commune-cog" in i.message for i in result.issues)


def test_slice_maximum(validator):
    res = location()
    cog = next(e for e in res["extension"] if e["url"] == ROR + "ror-commune-cog")
    res["extension"].append(copy.deepcopy(cog))
    result = validator.validate(res)
    assert any(i.message_id == "cardinality-max" and "extension:ror-commune-cog" in i.message for i in result.issues)


def test_pattern_on_task_input_slice(validator):
    res = task()
    # systemRequester slice: type pattern; a wrong code leaves the item in no slice (open slicing),
    # but the value type still follows the base: a correct item passes, a broken pattern code of a
    # required slice fails its minimum.
    assert validator.validate(res).ok
    res["input"][0]["type"]["coding"][0]["code"] = "nonsense"
    result = validator.validate(res)
    assert issue_ids(result, "error") & {"cardinality-min", "binding-required", "pattern-value"}


def test_fixed_value_on_extension_url(validator):
    res = location()
    cog = next(e for e in res["extension"] if e["url"] == ROR + "ror-commune-cog")
    profile = validator.compiled(ROR + "ror-commune-cog")
    assert profile.children["url"].fixed == ROR + "ror-commune-cog"
    cog["url"] = ROR + "ror-commune-cog-typo"
    result = validator.validate(res)
    assert "extension-unknown" in issue_ids(result, "warning")
    assert any(i.message_id == "cardinality-min" and "ror-commune-cog" in i.message for i in result.issues)


def test_binding_discriminated_slices(validator):
    """RORHealthcareService slices `characteristic` by coding.system with a required binding
    per slice: a J19 care-mode code lands in careMode and satisfies its minimum."""
    res = example("HealthcareService-1234564")
    res["characteristic"].append({"coding": [{
        "system": "https://mos.esante.gouv.fr/NOS/TRE_R213-ModePriseEnCharge/FHIR/TRE-R213-ModePriseEnCharge",
        "code": "01"}]})
    result = validator.validate(res)
    assert not any(i.message_id == "cardinality-min" and "careMode" in i.message for i in result.issues)
    undiscriminable = [i.expression for i in result.issues if i.message_id == "slicing-undiscriminable"]
    assert undiscriminable == ["HealthcareService.meta.tag"]  # the IG defect (a Coding sliced by url), reported


def test_extension_value_discriminates_act_slices(validator):
    """specificAct and outsideOfficeAct share the J16 binding; the ror-act-type extension's
    pattern value tells them apart (IG MAJOFFRE-S8 uses outsideOfficeAct)."""
    res = json.loads((EXAMPLES.parent / "harness" / "HealthcareService-ror-harness-healthcareservice.json").read_text())
    act = {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R210-ActeSpecifique/FHIR/TRE-R210-ActeSpecifique",
                       "code": "0628"}]}
    for kind in ("specificAct", "outsideOfficeAct"):
        item = dict(act, extension=[{"url": ROR + "ror-act-type", "valueCode": kind}])
        result = validator.validate(dict(res, characteristic=res["characteristic"] + [item]))
        assert result.ok, errors(result)
    wrong = dict(act, extension=[{"url": ROR + "ror-act-type", "valueCode": "nonsense"}])
    result = validator.validate(dict(res, characteristic=res["characteristic"] + [wrong]))
    assert errors(result) == [
        ("binding-required", f"HealthcareService.characteristic[{len(res['characteristic'])}].extension[0].value.ofType(code)")]


# -- extensions ------------------------------------------------------------------------------
def test_unknown_extension_is_a_warning(validator):
    res = location()
    res["extension"].append({"url": "http://example.org/fhir/StructureDefinition/unknown", "valueString": "x"})
    result = validator.validate(res)
    assert result.ok
    assert any(i.message_id == "extension-unknown" and i.severity == "warning" for i in result.issues)


def test_unknown_modifier_extension_is_an_error(validator):
    res = location()
    res["modifierExtension"] = [{"url": "http://example.org/fhir/StructureDefinition/mod", "valueBoolean": True}]
    assert ("modifier-extension-unknown", "Location.modifierExtension[0]") in errors(validator.validate(res))


def test_extension_value_and_children(validator):
    res = location()
    res["extension"].append({"url": "http://example.org/x", "valueString": "a",
                             "extension": [{"url": "y", "valueString": "b"}]})
    assert "extension-value-and-children" in issue_ids(validator.validate(res), "error")


def test_nested_extension_validated_against_its_definition(validator):
    res = location()
    res["extension"].append({"url": ROR + "ror-location-supported-capacity",
                             "extension": [{"url": "nbCapacity", "valueString": "douze"}]})
    result = validator.validate(res)
    assert any(i.is_error and i.expression.startswith(f"Location.extension[{len(res['extension']) - 1}]")
               for i in result.issues)


# -- bindings --------------------------------------------------------------------------------
def test_required_nos_binding(validator):
    res = location()
    res["type"] = [{"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R239-FonctionLieu/FHIR/TRE-R239-FonctionLieu",
                                "code": "999"}]}]
    result = validator.validate(res)
    found = [i for i in result.issues if i.message_id == "binding-required"]
    assert found and found[0].expression == "Location.type[0]"
    assert "JDV-J198" in found[0].message and found[0].source and "J198" in found[0].source


def test_required_core_binding_on_code(validator):
    res = location()
    res["status"] = "open"
    assert ("binding-required", "Location.status") in errors(validator.validate(res))
    res["status"] = "active"
    assert validator.validate(res).ok


def test_value_set_not_available_is_reported_not_checked(validator):
    result = validator.validate(location())  # ror-commune-cog binds the J124 communes, not vendored
    found = [i for i in result.issues if i.message_id == "binding-not-checked"]
    assert found and found[0].severity == "information" and "J124" in found[0].message


def test_extensible_binding_is_a_warning(validator):
    res = example("HealthcareService-1234564")
    result = validator.validate(res)
    assert any(i.message_id == "binding-extensible" and i.severity == "warning" for i in result.issues)


# -- invariants and references ---------------------------------------------------------------
def test_invariant_per_1(validator):
    res = location()
    res["identifier"] = [{"value": "x", "period": {"start": "2024-05-01", "end": "2024-01-01"}}]
    found = [i for i in validator.validate(res).issues if i.message_id == "invariant-failed"]
    assert any("per-1" in i.message and i.expression == "Location.identifier[0].period" for i in found)


def test_ror_invariant_questionnaire_version_required(validator):
    res = location()
    res["extension"].append({"url": ROR + "ror-meta-questionnaire-used-as-a-template",
                             "valueCanonical": "https://example.org/Questionnaire/q"})
    found = [i for i in validator.validate(res).issues if i.message_id in ("invariant-failed", "invariant-not-checked")]
    assert any("ror-questionnaire-version-required" in i.message for i in found)


def test_dom_3_contained_must_be_referenced(validator):
    res = location()
    res["contained"] = [{"resourceType": "Organization", "id": "orphan", "name": "x"}]
    found = [i for i in validator.validate(res).issues if i.message_id == "invariant-failed"]
    assert any("dom-3" in i.message for i in found)


def test_reference_target_type(validator):
    res = location()
    res["managingOrganization"] = {"reference": "Patient/123"}
    assert ("reference-target", "Location.managingOrganization.reference") in errors(validator.validate(res))
    res["managingOrganization"] = {"reference": "not a reference"}
    assert ("reference-format", "Location.managingOrganization.reference") in errors(validator.validate(res))


def test_reference_resolved_inside_a_bundle(validator):
    loc = location()
    loc["managingOrganization"] = {"reference": "urn:uuid:0f2c6a2e-1d7b-4a55-9b6e-7d7e3c1a9e10"}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:0f2c6a2e-1d7b-4a55-9b6e-7d7e3c1a9e10", "resource": {"resourceType": "Patient", "id": "p"}},
        {"fullUrl": "urn:uuid:5b9d1a9c-9a64-4a3b-8d1f-7e6b6c2f0d11", "resource": loc}]}
    assert ("reference-target", "Bundle.entry[1].resource.managingOrganization.reference") in errors(validator.validate(bundle))


# -- profiles -------------------------------------------------------------------------------
def test_unknown_claimed_profile_is_reported_and_default_used(validator):
    res = location()
    res["meta"]["profile"] = ["https://example.org/StructureDefinition/nope"]
    result = validator.validate(res)
    assert "profile-unknown" in issue_ids(result, "warning")
    assert result.profiles == [ROR + "ror-location"]


def test_profile_that_cannot_be_generated_is_never_a_silent_pass(validator):
    result = validator.validate(example("Questionnaire-ror-questionnaire-offre-mco"))
    assert "profile-not-generated" in issue_ids(result)
    assert not result.ok


def test_operation_outcome_carries_ids_locations_and_french(validator):
    res = location()
    res["colour"] = "blue"
    oo = validator.validate(res).to_operation_outcome()
    issue = next(i for i in oo["issue"] if i["details"]["coding"][0]["code"] == "unknown-element")
    assert issue["expression"] == ["Location.colour"] and issue["severity"] == "error"
    assert "inconnu" in issue["details"]["text"] and "unknown" in issue["diagnostics"]


# -- closed / ordered slicing (a small profile of our own, loaded from a folder package) --------
def test_closed_and_ordered_slicing(tmp_path):
    pkg = tmp_path / "package"
    pkg.mkdir()
    (pkg / "package.json").write_text(json.dumps({"name": "test.slicing", "version": "0.0.1",
                                                  "dependencies": {"hl7.fhir.r4.core": "4.0.1"}}))
    profile = {
        "resourceType": "StructureDefinition", "id": "closed-loc", "url": "http://test/StructureDefinition/closed-loc",
        "name": "ClosedLoc", "status": "draft", "kind": "resource", "abstract": False, "type": "Location",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Location", "derivation": "constraint",
        "differential": {"element": [
            {"id": "Location.identifier", "path": "Location.identifier",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "closed", "ordered": True}},
            {"id": "Location.identifier:a", "path": "Location.identifier", "sliceName": "a", "max": "1"},
            {"id": "Location.identifier:a.system", "path": "Location.identifier.system", "fixedUri": "urn:a"},
            {"id": "Location.identifier:b", "path": "Location.identifier", "sliceName": "b", "max": "1"},
            {"id": "Location.identifier:b.system", "path": "Location.identifier.system", "fixedUri": "urn:b"},
        ]},
    }
    (pkg / "StructureDefinition-closed-loc.json").write_text(json.dumps(profile))
    v = Validator(packages=PackageSet(tmp_path))
    base = {"resourceType": "Location", "id": "l", "meta": {"profile": [profile["url"]]}}
    good = dict(base, identifier=[{"system": "urn:a", "value": "1"}, {"system": "urn:b", "value": "2"}])
    assert v.validate(good).ok, errors(v.validate(good))
    stranger = dict(base, identifier=[{"system": "urn:a", "value": "1"}, {"system": "urn:z", "value": "2"}])
    assert ("slice-unmatched-closed", "Location.identifier[1]") in errors(v.validate(stranger))
    reversed_ = dict(base, identifier=[{"system": "urn:b", "value": "2"}, {"system": "urn:a", "value": "1"}])
    assert ("slice-order", "Location.identifier[1]") in errors(v.validate(reversed_))
    fixed = dict(base, identifier=[{"system": "urn:a", "value": "1"}])
    result = v.validate(fixed)
    assert result.ok


def test_terminology_server_down_is_inconclusive_not_an_error():
    """J124 (communes) is not bundled: with a dead terminology server the verdict is
    'inconclusive' (a warning naming the infrastructure), the resource stays valid."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    v = Validator(tx_url=f"http://127.0.0.1:{port}/fhir")
    result = v.validate(location())
    assert result.ok
    found = [i for i in result.issues if i.message_id == "binding-inconclusive"]
    assert found and found[0].code == "exception" and str(port) in (found[0].source or "")


def test_json_null_is_an_error(validator):
    res = location()
    res["name"] = None
    assert ("json-null", "Location.name") in errors(validator.validate(res))


def test_datatype_invariant_applies_under_a_profile_that_expands_the_datatype(validator):
    """ror-available-time-effective-opening-closing-date constrains its Period's children;
    Period's own per-1 must still be evaluated."""
    res = json.loads((EXAMPLES.parent / "harness" / "PractitionerRole-ror-harness-practitionerrole.json").read_text())
    res.setdefault("availableTime", [{}])
    res["availableTime"][0]["extension"] = [{
        "url": ROR + "ror-available-time-effective-opening-closing-date",
        "valuePeriod": {"start": "2025-06-30", "end": "2025-01-01"}}]
    found = [i for i in validator.validate(res).issues if i.message_id == "invariant-failed"]
    assert any("per-1" in i.message for i in found)


def test_pattern_above_the_discriminator_path_discriminates(validator):
    """ROROrganization discriminates identifier slices on type.coding.code, fixed by a pattern on `type`."""
    res = json.loads((EXAMPLES.parent / "harness" / "Organization-ror-harness-eg.json").read_text())
    result = validator.validate(res)
    assert result.ok and not any(i.message_id == "slicing-undiscriminable" and "identifier" in i.expression
                                 for i in result.issues)
