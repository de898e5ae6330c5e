"""FHIR search value semantics as the harness judges them: each type both ways, and the cases
where it must say "cannot tell" rather than fail a server."""
from __future__ import annotations

import pytest
from checks_support import search_parameters

from harness.checks import search_values as sv
from harness.checks.search_query import Judge, Unjudgeable, parse_query

SPECIALTY = "https://mos.esante.gouv.fr/NOS/TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle"
CC = {"coding": [{"system": SPECIALTY, "code": "229"}]}


@pytest.mark.parametrize("value, expected", [
    (f"{SPECIALTY}|229", True), ("229", True), (f"{SPECIALTY}|", True), (f"{SPECIALTY}|230", False),
    ("|229", False), ("http://other|229", False),
])
def test_token(value, expected):
    assert sv.token_match(CC, value) is expected


def test_token_on_identifiers_and_primitives():
    identifier = {"system": "urn:oid:1.2", "value": "52/100001",
                  "type": {"coding": [{"system": "http://t", "code": "IDNST"}]}}
    assert sv.token_match(identifier, "urn:oid:1.2|52/100001") and not sv.token_match(identifier, "52/100002")
    assert sv.token_match(True, "true") and sv.token_match("active", "ACTIVE")
    assert sv.of_type_match(identifier, "http://t|IDNST|52/100001") and not sv.of_type_match(identifier, "http://t|X|52/100001")


@pytest.mark.parametrize("modifier, value, expected", [
    (None, "hopital", True), (None, "HÔPITAL sainte", True), (None, "sainte", False),
    ("exact", "Hôpital Sainte-Anne", True), ("exact", "hôpital sainte-anne", False),
    ("contains", "sainte", True), ("contains", "paul", False),
])
def test_string(modifier, value, expected):
    assert sv.string_match("Hôpital Sainte-Anne", value, modifier) is expected


def test_string_on_addresses():
    assert sv.string_match({"line": ["1 rue X"], "postalCode": "49370", "city": "Bécon"}, "49", None)
    assert not sv.string_match({"postalCode": "49370", "use": "work"}, "wo", None)


@pytest.mark.parametrize("value, target, expected", [
    ("ge2024-05-26", "2024-05-26T10:00:00Z", True),
    ("lt2024-05-26T00:00:00Z", "2024-05-26T10:00:00Z", False),
    ("lt2024-05-26T00:00:00Z", "2024-05-25T23:59:59Z", True),
    ("2024-05", "2024-05-31", True), ("2024-05", "2024-06-01", False),
    ("gt2024", "2025-01-01", True), ("gt2024", "2024-12-31", False),
    ("le2024-01-01", {"start": "2023-12-01", "end": "2023-12-31"}, True),
    ("sa2024-01-01", {"start": "2024-02-01"}, True), ("eb2024-01-01", {"start": "2024-02-01"}, False),
    ("ne2024-05-26", "2024-05-26", False),
])
def test_dates(value, target, expected):
    assert sv.date_match(target, value) is expected


def test_a_date_without_zone_is_judged_leniently():
    # 2024-05-26T20:00:00Z is still the 26th somewhere between -14:00 and +14:00
    assert sv.date_match("2024-05-26T20:00:00Z", "eq2024-05-26") is True
    assert sv.date_match("2024-05-28T20:00:00Z", "eq2024-05-26") is False
    assert sv.date_match("garbage", "2024") is None and sv.date_match("2024-01-01", "ap2024") is None


def test_numbers_and_quantities():
    assert sv.number_match(100.2, "100") and not sv.number_match(100.6, "100") and sv.number_match(1, "gt0")
    assert not sv.number_match(0, "gt0") and sv.number_match(95, "ap100")
    quantity = {"value": 250, "system": "http://unitsofmeasure.org", "code": "kg"}
    assert sv.quantity_match(quantity, "ge200|http://unitsofmeasure.org|kg")
    assert sv.quantity_match(quantity, "ge200|https://unitsofmeasure.org|kg")
    assert sv.quantity_match(quantity, "lt200") is False
    assert sv.quantity_match(quantity, "ge200|http://unitsofmeasure.org|g") is None  # another unit: cannot tell


def test_references():
    assert sv.reference_match({"reference": "Organization/org-1"}, "Organization/org-1", None)
    assert sv.reference_match({"reference": "http://x/fhir/Organization/org-1/_history/2"}, "org-1", None)
    assert sv.reference_match({"reference": "Organization/org-1"}, "org-1", "Organization")
    assert not sv.reference_match({"reference": "Organization/org-1"}, "Organization/org-2", None)
    assert sv.reference_match({"identifier": {"value": "x"}}, "org-1", None) is None


def test_parse_query_separates_criteria_paging_and_includes():
    query = parse_query("HealthcareService", [
        ("specialty", "a,b\\,c"), ("_count", "10"), ("_include", "HealthcareService:organization"),
        ("_include:iterate", "Organization:partof"), ("_revinclude", "PractitionerRole:service"),
        ("location.address-postalcode:exact", "49370"), ("_sort", "name")])
    assert [(c.raw, c.values) for c in query.criteria] == [
        ("specialty", ("a", "b,c")), ("location.address-postalcode:exact", ("49370",))]
    assert query.criteria[1].chain == (("location", None),) and query.criteria[1].modifier == "exact"
    assert query.count == 10
    assert [(i.source, i.param, i.iterate) for i in query.includes] == [
        ("HealthcareService", "organization", False), ("Organization", "partof", True)]
    assert query.revincludes[0].source == "PractitionerRole"


def _verdict(resource, pairs, resolve=lambda key: None):
    judge = Judge(search_parameters(), resolve)
    return judge.verdict(resource, parse_query(resource["resourceType"], pairs).criteria[0])


HS = {"resourceType": "HealthcareService", "id": "hs-1", "specialty": [CC], "location": [{"reference": "Location/loc-1"}],
      "meta": {"lastUpdated": "2024-01-01T00:00:00Z"}}


def test_judge_by_search_parameter_expressions():
    assert _verdict(HS, [("specialty", f"{SPECIALTY}|229")]) is True
    assert _verdict(HS, [("specialty", f"{SPECIALTY}|230,{SPECIALTY}|229")]) is True
    assert _verdict(HS, [("specialty:not", f"{SPECIALTY}|229")]) is False
    assert _verdict(HS, [("specialty:not", f"{SPECIALTY}|230")]) is True
    assert _verdict(HS, [("_id", "hs-1")]) is True and _verdict(HS, [("_lastUpdated", "lt2023")]) is False
    assert _verdict(HS, [("characteristic:missing", "true")]) is True


def test_judge_follows_chains_through_the_resolver():
    location = {"resourceType": "Location", "id": "loc-1", "address": {"postalCode": "49370"}}
    resolve = {"Location/loc-1": location}.get
    assert _verdict(HS, [("location.address-postalcode", "49")], resolve) is True
    assert _verdict(HS, [("location.address-postalcode", "75")], resolve) is False
    assert _verdict(HS, [("location.address-postalcode", "49")]) is None  # not resolvable: cannot tell


def test_judge_walks_the_hierarchy_for_above_on_a_chain():
    """`organization:above.identifier` (IG ST2-S2): the organization or any above it through partOf."""
    service = {"resourceType": "HealthcareService", "id": "hs-1", "providedBy": {"reference": "Organization/oi"}}
    orgs = {"Organization/oi": {"resourceType": "Organization", "id": "oi", "partOf": {"reference": "Organization/eg"}},
            "Organization/eg": {"resourceType": "Organization", "id": "eg", "partOf": {"reference": "Organization/ej"}},
            "Organization/ej": {"resourceType": "Organization", "id": "ej", "identifier": [{"value": "490010071"}],
                                "partOf": {"reference": "Organization/oi"}}}  # a cycle must not loop
    assert _verdict(service, [("organization:above.identifier", "490010071")], orgs.get) is True
    assert _verdict(service, [("organization:above.identifier", "000000000")], orgs.get) is False
    assert _verdict(service, [("organization.identifier", "490010071")], orgs.get) is False  # no hierarchy without :above
    with pytest.raises(Unjudgeable):
        _verdict(service, [("organization:below.identifier", "490010071")], orgs.get)


@pytest.mark.parametrize("pairs", [[("_filter", "name eq x")], [("_has:PractitionerRole:service:active", "true")],
                                   [("no-such-param", "x")], [("near-insee-code", "35292|15|km")],
                                   [("specialty:above", "x")]])
def test_judge_says_when_it_cannot_judge(pairs):
    resource = HS if pairs[0][0] != "near-insee-code" else {"resourceType": "Location", "id": "l"}
    with pytest.raises(Unjudgeable):
        _verdict(resource, pairs)
