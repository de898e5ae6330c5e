"""Hand-made ROR-shaped resources for the reference server search tests.

Small on purpose: each value exists to make one search family match or not match, and the
tests compute what should match from these dicts directly (never through the engine).
"""
from __future__ import annotations

ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
NOS = "https://mos.esante.gouv.fr/NOS/"
R211 = NOS + "TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle"
R244 = NOS + "TRE_R244-CategorieOrganisation/FHIR/TRE-R244-CategorieOrganisation"
R338 = NOS + "TRE_R338-ModaliteAccueil/FHIR/TRE-R338-ModaliteAccueil"
R210 = NOS + "TRE_R210-ActeSpecifique/FHIR/TRE-R210-ActeSpecifique"
R66 = NOS + "TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
R30 = NOS + "TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"
R13 = NOS + "TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
R329 = NOS + "TRE_R329-NatureCapacite/FHIR/TRE-R329-NatureCapacite"
R330 = NOS + "TRE_R330-TypeStatutCapacite/FHIR/TRE-R330-TypeStatutCapacite"
R331 = NOS + "TRE_R331-TemporaliteCapacite/FHIR/TRE-R331-TemporaliteCapacite"
R332 = NOS + "TRE_R332-GenreCapacite/FHIR/TRE-R332-GenreCapacite"
R333 = NOS + "TRE_R333-TypeFermetureCapacite/FHIR/TRE-R333-TypeFermetureCapacite"
R212 = NOS + "TRE_R212-Equipement/FHIR/TRE-R212-Equipement"
R340 = NOS + "TRE_R340-TypeCaracteristiqueEquipement/FHIR/TRE-R340-TypeCaracteristiqueEquipement"
R246 = NOS + "TRE_R246-TypeTarif/FHIR/TRE-R246-TypeTarif"
R250 = NOS + "TRE_R250-ConditionTarifaire/FHIR/TRE-R250-ConditionTarifaire"
R237 = NOS + "TRE_R237-GroupeTarifaireDependance/FHIR/TRE-R237-GroupeTarifaireDependance"
R352 = NOS + "TRE_R352-StatutMetierAnomalie/FHIR/TRE-R352-StatutMetierAnomalie"
G07 = NOS + "TRE_G07-TypeIdentifiantStructure/FHIR/TRE-G07-TypeIdentifiantStructure"
UCUM = "http://unitsofmeasure.org"
FINESS = "urn:oid:1.2.250.1.71.4.2.2"
RPPS = "urn:oid:1.2.250.1.71.4.2.1"


def cc(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def ext(url: str, **value) -> dict:
    return {"url": url, **value}


def meta(updated: str, region: str = "52") -> dict:
    return {"lastUpdated": updated, "profile": [ROR + "ror-organization"],
            "tag": [{"system": R30, "code": region}]}


def price(amount: float, price_type: str, *, special: str | None = None, dependency: str | None = None,
          start: str | None = None) -> dict:
    parts = [ext("priceType", valueCodeableConcept=cc(R246, price_type)),
             ext("amount", valueMoney={"value": amount, "currency": "EUR"})]
    if special:
        parts.append(ext("specialPrice", valueCodeableConcept=cc(R250, special)))
    if dependency:
        parts.append(ext("dependencyLevel", valueCodeableConcept=cc(R237, dependency)))
    if start:
        parts.append(ext("startDate", valueDateTime=start))
    return ext(ROR + "ror-organization-price", extension=parts)


def capacity(kind: str, status: str, number: int, *, gender: str | None = None, closing: str | None = None) -> dict:
    parts = [ext("capacityType", valueCodeableConcept=cc(R329, kind)),
             ext("capacityStatus", valueCodeableConcept=cc(R330, status)),
             ext("temporalityCapacity", valueCodeableConcept=cc(R331, "01")),
             ext("nbCapacity", valueInteger=number),
             ext("capacityUpdateDate", valueDateTime="2024-03-01T08:00:00Z")]
    if gender:
        parts.append(ext("genderCapacityAvailable", valueCodeableConcept=cc(R332, gender)))
    if closing:
        parts.append(ext("capacityClosingType", valueCodeableConcept=cc(R333, closing)))
    return ext(ROR + "ror-location-supported-capacity", extension=parts)


def equipment(kind: str, feature: str, limit_kg: float) -> dict:
    limit = ext(ROR + "ror-location-equipment-limit", extension=[
        ext("equipmentFeature", valueCodeableConcept=cc(R340, feature)),
        ext("limitValue", valueQuantity={"value": limit_kg, "unit": "kg", "system": UCUM, "code": "kg"})])
    return ext(ROR + "ror-location-equipment", extension=[
        ext("equipmentType", valueCodeableConcept=cc(R212, kind)), ext("nbInService", valueInteger=2), limit])


def age_range(low: float, high: float) -> dict:
    q = lambda v: {"value": v, "unit": "an(s)", "system": UCUM, "code": "a"}  # noqa: E731
    return ext(ROR + "ror-healthcareservice-patient-type",
               extension=[ext("ageRange", valueRange={"low": q(low), "high": q(high)})])


def organization(rid: str, name: str, ident: str, updated: str, *, part_of: str | None = None,
                 org_type: tuple[str, str] | None = None, city: str = "Nantes", postal: str = "44000",
                 extensions: list | None = None, region: str = "52") -> dict:
    res = {"resourceType": "Organization", "id": rid, "meta": meta(updated, region), "name": name,
           "identifier": [{"system": FINESS, "value": ident, "type": cc(G07, "40")}],
           "address": [{"line": ["1 rue de la Paix"], "city": city, "postalCode": postal}]}
    if part_of:
        res["partOf"] = {"reference": f"Organization/{part_of}"}
    if org_type:
        res["type"] = [cc(*org_type)]
    if extensions:
        res["extension"] = extensions
    return res


def location(rid: str, commune: str, postal: str, city: str, updated: str, *, extensions: list = (),
             position: tuple[float, float] | None = None) -> dict:
    res = {"resourceType": "Location", "id": rid, "meta": {"lastUpdated": updated}, "status": "active",
           "identifier": [{"system": "https://ror.example/location", "value": f"52/{rid}"}],
           "extension": [ext(ROR + "ror-commune-cog", valueCodeableConcept=cc(R13, commune)), *extensions],
           "address": {"city": city, "postalCode": postal}, "managingOrganization": {"reference": "Organization/org-eg"}}
    if position:
        res["position"] = {"latitude": position[0], "longitude": position[1]}
    return res


def service(rid: str, name: str, org: str, loc: str, updated: str, *, specialties: list[str],
            category: str, characteristics: list[tuple[str, str]] = (), extensions: list = (),
            active: bool = True) -> dict:
    return {"resourceType": "HealthcareService", "id": rid, "meta": {"lastUpdated": updated,
                                                                     "tag": [{"system": R30, "code": "52"}]},
            "identifier": [{"value": f"52/{rid}"}], "active": active, "name": name,
            "providedBy": {"reference": f"Organization/{org}"}, "location": [{"reference": f"Location/{loc}"}],
            "specialty": [cc(R211, s) for s in specialties], "category": [cc(R244, category)],
            "characteristic": [cc(s, c, "Accueil séquentiel" if c == "01" else None) for s, c in characteristics],
            "extension": list(extensions)}


def dataset() -> list[dict]:
    return [
        organization("org-ej", "Hôpital Saint-Éloi", "1000000001", "2024-01-10T10:00:00Z",
                     org_type=(R66, "355"), extensions=[price(60, "02", special="03", start="2024-01-01T00:00:00Z"),
                                                       ext(ROR + "ror-organization-drop-zone", valueBoolean=True)]),
        organization("org-eg", "Centre Médical Nord", "1000000002", "2023-06-15T12:30:00Z", part_of="org-ej",
                     org_type=(R66, "189"), extensions=[price(45, "03", dependency="02", start="2023-01-01T00:00:00Z")]),
        organization("org-oi", "Unité de pédopsychiatrie", "1000000003", "2022-01-01T00:00:00+01:00",
                     part_of="org-eg"),
        organization("org-other", "Clinique du Lac", "2000000001", "2021-05-05T08:00:00Z", city="Lyon",
                     postal="69003", org_type=(R66, "101"), region="84",
                     extensions=[price(80, "02", start="2022-06-01T00:00:00Z")]),
        location("loc-nantes", "44109", "44000", "Nantes", "2024-03-01T08:00:00Z",
                 extensions=[capacity("01", "02", 3, gender="01"), equipment("088", "001", 250)],
                 position=(47.2184, -1.5536)),
        location("loc-herblain", "44162", "44800", "Saint-Herblain", "2023-02-01T00:00:00Z",
                 extensions=[capacity("01", "05", 0, closing="01")], position=(47.2177, -1.6484)),
        location("loc-lyon", "69383", "69003", "Lyon", "2022-02-01T00:00:00Z", position=(45.76, 4.85)),
        service("hs-1", "Pédopsychiatrie infanto-juvénile", "org-oi", "loc-nantes", "2024-02-01T09:00:00Z",
                specialties=["227"], category="50", characteristics=[(R338, "01")],
                extensions=[age_range(3, 17)]),
        service("hs-2", "Cardiologie générale", "org-eg", "loc-herblain", "2023-03-01T09:00:00Z",
                specialties=["013"], category="102", characteristics=[(R210, "0626")],
                extensions=[age_range(18, 99), ext(ROR + "ror-healthcareservice-psychiatric-sector",
                                                   valueString="44G01")]),
        service("hs-3", "Cardiologie", "org-other", "loc-lyon", "2021-06-01T09:00:00Z",
                specialties=["013", "233"], category="102", active=False),
        {"resourceType": "Practitioner", "id": "pr-1", "meta": {"lastUpdated": "2024-01-01T00:00:00Z"},
         "identifier": [{"system": RPPS, "value": "810000000001"}], "name": [{"family": "Dupont", "given": ["Émilie"]}]},
        {"resourceType": "Practitioner", "id": "pr-2", "meta": {"lastUpdated": "2024-01-01T00:00:00Z"},
         "identifier": [{"system": RPPS, "value": "810000000002"}], "name": [{"family": "Martin", "given": ["Paul"]}]},
        {"resourceType": "PractitionerRole", "id": "role-1", "meta": {"lastUpdated": "2024-01-02T00:00:00Z"},
         "practitioner": {"reference": "Practitioner/pr-1"}, "healthcareService": [{"reference": "HealthcareService/hs-1"}]},
        {"resourceType": "PractitionerRole", "id": "role-2", "meta": {"lastUpdated": "2024-01-02T00:00:00Z"},
         "practitioner": {"reference": "Practitioner/pr-2"}, "healthcareService": [{"reference": "HealthcareService/hs-2"}]},
        {"resourceType": "Task", "id": "task-1", "meta": {"lastUpdated": "2024-01-03T00:00:00Z"}, "status": "in-progress",
         "intent": "order", "businessStatus": cc(R352, "02"), "focus": {"reference": "HealthcareService/hs-2"}},
        {"resourceType": "Task", "id": "task-2", "meta": {"lastUpdated": "2024-01-04T00:00:00Z"}, "status": "in-progress",
         "intent": "order", "businessStatus": cc(R352, "10"), "focus": {"reference": "Organization/org-eg"}},
        {"resourceType": "Measure", "id": "measure-1", "meta": {"lastUpdated": "2023-10-01T00:00:00Z"},
         "url": "https://ror.example/Measure/m1", "status": "active", "identifier": [{"value": "m1"}]},
        {"resourceType": "MeasureReport", "id": "report-1", "meta": {"lastUpdated": "2023-10-06T15:00:00Z"},
         "status": "complete", "type": "summary", "measure": "https://ror.example/Measure/m1",
         "date": "2023-10-06T15:00:00Z", "period": {"start": "2023-10-01", "end": "2023-10-06"}},
    ]
