"""FHIRPath Patch and the ROR capacity PATCH over real HTTP: every documented outcome both ways
(200, 404 not-found, 412 multiple-matches, 400 business-rule, 412 If-Match)."""
from __future__ import annotations

import copy

import pytest

from harness.fhir.validation import Validator
from harness.refserver.capacity import CAPACITY_PATH, NOT_FOUND, SUPPORTED_CAPACITY
from refserver_http_support import client, first, outcome_codes, seed_db, start  # noqa: F401

JSON = {"Content-Type": "application/fhir+json"}
NOS = "https://mos.esante.gouv.fr/NOS/"
SYSTEMS = {"capacityType": "TRE_R329-NatureCapacite", "capacityStatus": "TRE_R330-TypeStatutCapacite",
           "temporalityCapacity": "TRE_R331-TemporaliteCapacite", "capacitySourceType": "TRE_R335-TypeSourceCapacite",
           "genderCapacityAvailable": "TRE_R332-GenreCapacite", "capacityClosingType": "TRE_R333-TypeFermetureCapacite",
           "temporaryAssignement": "TRE_R337-AffectationTemporaire"}


def _coding(name: str, code: str) -> dict:
    system = SYSTEMS[name]
    return {"url": name, "valueCodeableConcept": {"coding": [{"system": f"{NOS}{system}/FHIR/{system.replace('_', '-', 1)}",
                                                              "code": code}]}}


def indicator(nb: int = 25, **codes: str) -> dict:
    """A supported-capacity extension (defaults: ST10-S2, 'places disponibles, indifférencié')."""
    wanted = {"capacityType": "02", "capacityStatus": "02", "temporalityCapacity": "05", "capacitySourceType": "02",
              "genderCapacityAvailable": "03", "temporaryAssignement": "01", **codes}
    subs = [_coding(name, code) for name, code in wanted.items() if code]
    subs += [{"url": "nbCapacity", "valueInteger": nb}, {"url": "capacityUpdateDate", "valueDateTime": "2025-02-26T15:17:33Z"}]
    return {"url": SUPPORTED_CAPACITY, "extension": subs}


def operation(kind: str, path: str, **parts: object) -> dict:
    part = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    part += [{"name": name, **value} for name, value in parts.items()]
    return {"name": "operation", "part": part}


def params(*operations: dict) -> dict:
    return {"resourceType": "Parameters", "parameter": list(operations)}


def where(ind: dict) -> str:
    """ST10-S2bis style path selecting an indicator by its coded values."""
    conditions = [f"extension.where(url='{s['url']}' and valueCodeableConcept.coding.code='"
                  f"{s['valueCodeableConcept']['coding'][0]['code']}')" for s in ind["extension"]
                  if "valueCodeableConcept" in s and s["url"] != "capacitySourceType"]
    return f"{CAPACITY_PATH}.where({' and '.join(conditions)})"


def _capacities(location: dict) -> list[dict]:
    return [e for e in location.get("extension", []) if e["url"] == SUPPORTED_CAPACITY]


@pytest.fixture(scope="module")
def server(seed_db, tmp_path_factory):
    running = start(seed_db, tmp_path_factory.mktemp("patch"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(server):
    with client(server) as http:
        yield http


@pytest.fixture(scope="module")
def bed_api(server):
    """The capacity PATCH client: bearer token, no Ror-* headers."""
    with client(server, ror_headers=False) as http:
        yield http


@pytest.fixture
def location(api):
    """A Location with capacity indicators whose coded values tell them apart, and its synchro id."""
    bundle = api.get("/Location", params={"_count": "200"}).json()
    for entry in bundle["entry"]:
        candidate = entry["resource"]
        paths = [where(i) for i in _capacities(candidate)]
        ids = [i["value"] for i in candidate.get("identifier", []) if "/" in i.get("value", "")]
        if paths and len(set(paths)) == len(paths) and ids and indicator() not in _capacities(candidate):
            return candidate, ids[-1]
    pytest.fail("no Location with distinguishable capacity indicators in the dataset")


# -- FHIRPath Patch -------------------------------------------------------------------------------


def test_replace_a_first_level_element(api):
    org = first(api, "/Organization?_count=1")
    answer = api.patch(f"/Organization/{org['id']}", json=params(operation(
        "replace", "Organization.name", value={"valueString": "TECOTRO (Tête, cou et tronc)"})), headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "TECOTRO (Tête, cou et tronc)"
    assert answer.headers["etag"] == f'W/"{int(org["meta"]["versionId"]) + 1}"' and answer.headers["last-modified"]


def test_task_business_status_replace_st6_s1(api):
    task = first(api, "/Task?_count=1")
    status = {"coding": [{"system": f"{NOS}TRE_R352-StatutMetierAnomalie/FHIR/TRE-R352-StatutMetierAnomalie",
                          "code": "08", "display": "Corrigé"}]}
    answer = api.patch(f"/Task/{task['id']}", json=params(operation(
        "replace", "Task.businessStatus", value={"valueCodeableConcept": status})), headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["businessStatus"]["coding"][0]["code"] == "08"


def test_add_a_location_reference_st10_s1(api):
    validator = Validator()
    services = [e["resource"] for e in api.get("/HealthcareService", params={"_count": "50"}).json()["entry"]]
    service = next(s for s in services if validator.validate(s).ok)
    location = first(api, "/Location?_count=1")
    answer = api.patch(f"/HealthcareService/{service['id']}", json=params(operation(
        "add", "HealthcareService", name={"valueString": "location"},
        value={"part": [{"name": "reference", "valueString": f"Location/{location['id']}"}]})), headers=JSON)
    assert answer.status_code == 200, answer.text
    assert {"reference": f"Location/{location['id']}"} in answer.json()["location"]


@pytest.mark.parametrize("body, fragment", [
    (params(operation("replace", "Organization", name={"valueString": "name"}, value={"valueString": "x"})),
     "takes no part name"),
    (params(operation("remove", "Organization.name")), "operation type must be one of"),
    (params(operation("add", "Organization", value={"valueString": "x"})), "needs the part 'name'"),
    (params(operation("add", "Organization", name={"valueString": "nope"}, value={"valueString": "x"})),
     "has no element 'nope'"),
    (params(operation("replace", "Organization.name.where(", value={"valueString": "x"})), "FHIRPath"),
    ({"resourceType": "Organization"}, "Parameters"),
])
def test_malformed_patches_are_400_with_what_fhirpath_patch_expects(api, body, fragment):
    org = first(api, "/Organization?_count=1")
    answer = api.patch(f"/Organization/{org['id']}", json=body, headers=JSON)
    assert answer.status_code == 400 and outcome_codes(answer) == ["invalid"]
    assert fragment in answer.json()["issue"][0]["diagnostics"]


def test_patch_if_match_and_unknown_resource(api):
    org = first(api, "/Organization?_count=1")
    body = params(operation("replace", "Organization.name", value={"valueString": "Encore"}))
    stale = api.patch(f"/Organization/{org['id']}", json=body, headers={**JSON, "If-Match": 'W/"999"'})
    assert stale.status_code == 412 and outcome_codes(stale) == ["conflict"]
    assert api.patch("/Organization/no-such-org", json=body, headers=JSON).status_code == 404


def test_a_patch_result_that_breaks_the_profile_is_422(api):
    org = first(api, "/Organization?_count=1")
    answer = api.patch(f"/Organization/{org['id']}", json=params(operation(
        "replace", "Organization.name", value={"valueCodeableConcept": {"text": "not a string"}})), headers=JSON)
    assert answer.status_code == 422 and outcome_codes(answer)[0] == "processing"


# -- the ROR capacity PATCH -----------------------------------------------------------------------


def test_capacity_replace_of_an_existing_indicator(bed_api, location):
    loc, synchro = location
    target = _capacities(loc)[0]
    updated = copy.deepcopy(target)
    next(s for s in updated["extension"] if s["url"] == "nbCapacity")["valueInteger"] = 12
    answer = bed_api.patch("/Location", params={"identifier": synchro}, json=params(operation(
        "replace", where(target), value={"valueExtension": updated})), headers=JSON)
    assert answer.status_code == 200, answer.text
    assert updated in _capacities(answer.json()) and target not in _capacities(answer.json())
    assert answer.headers["etag"] and answer.headers["last-modified"]


def test_capacity_replace_of_a_missing_indicator_is_the_documented_404(bed_api, location):
    loc, synchro = location
    answer = bed_api.patch("/Location", params={"identifier": synchro}, json=params(operation(
        "replace", where(indicator()), value={"valueExtension": indicator(12)})), headers=JSON)
    assert answer.status_code == 404
    issue = answer.json()["issue"][0]
    assert issue["code"] == "not-found" and issue["diagnostics"] == NOT_FOUND
    assert issue["expression"] == [CAPACITY_PATH]


def test_capacity_add_in_the_national_form_then_duplicate_then_delete(bed_api, location):
    loc, synchro = location
    national = {"name": "operation", "part": [{"name": "type", "valueString": "add"},
                                              {"name": "path", "valueString": CAPACITY_PATH},
                                              {"name": "value", "part": [{"extension": [indicator()]}]}]}
    added = bed_api.patch("/Location", params={"identifier": synchro}, json=params(national), headers=JSON)
    assert added.status_code == 200, added.text
    assert indicator() in _capacities(added.json())
    again = bed_api.patch("/Location", params={"identifier": synchro}, json=params(national), headers=JSON)
    assert again.status_code == 400 and outcome_codes(again) == ["business-rule"]
    deleted = bed_api.patch("/Location", params={"identifier": synchro},
                            json=params(operation("delete", where(indicator()))), headers=JSON)
    assert deleted.status_code == 200 and indicator() not in _capacities(deleted.json())


@pytest.mark.parametrize("bad, message", [
    (indicator(capacityType="99"), "Indicateur INDICATEUR_INCONNU : L'attribut 'natureCapacite' a un code différent "
                                   "de celui attendu"),
    (indicator(capacityClosingType="01"), "Les valeurs du nouvel objet ne correspondent pas à un indicateur valide : "
                                          "capacityStatus: 02 / temporalityCapacity: 05 / genderCapacityAvailable: 03 / "
                                          "capacityClosingType: 01 / additionalBedType: null / crisisType: null / "
                                          "temporaryAssignement: 01"),
    (indicator(capacityStatus="01"), "Les valeurs du nouvel objet ne correspondent pas"),  # gender needs 'Disponible'
    (indicator(temporaryAssignement=""), "'affectationTemporaire' est obligatoire"),
])
def test_capacity_business_rules_are_400(bed_api, location, bad, message):
    _, synchro = location
    answer = bed_api.patch("/Location", params={"identifier": synchro}, json=params(operation(
        "add", "Location", name={"valueString": "extension"}, value={"valueExtension": bad})), headers=JSON)
    assert answer.status_code == 400 and outcome_codes(answer) == ["business-rule"]
    assert message in answer.json()["issue"][0]["diagnostics"]


def test_capacity_patch_of_an_unknown_location_is_the_documented_404(bed_api):
    answer = bed_api.patch("/Location", params={"identifier": "1350054680/SSR38888"},
                           json=params(operation("delete", CAPACITY_PATH)), headers=JSON)
    assert answer.status_code == 404
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["Location"]
    assert issue["diagnostics"] == ("La Location avec l'identifiant externe de synchro OU l'identifiant unique de "
                                    "saisie : '1350054680/SSR38888' n'a pas été trouvée.")


def test_capacity_patch_of_a_duplicated_identifier_is_412(api, bed_api, location):
    loc, synchro = location
    copy_of = {k: v for k, v in loc.items() if k not in ("id", "meta")}
    assert api.post("/Location", json=copy_of, headers=JSON).status_code == 201
    answer = bed_api.patch("/Location", params={"identifier": synchro},
                           json=params(operation("delete", where(indicator()))), headers=JSON)
    assert answer.status_code == 412
    issue = answer.json()["issue"][0]
    assert issue["code"] == "multiple-matches" and issue["expression"] == ["Location"]
    assert issue["diagnostics"] == "La Location recherchée n'est pas unique, il y a '2' résultats"


def test_conditional_patch_takes_only_identifier(bed_api):
    answer = bed_api.patch("/Location", params={"name": "x"}, json=params(operation("delete", CAPACITY_PATH)),
                           headers=JSON)
    assert answer.status_code == 400
