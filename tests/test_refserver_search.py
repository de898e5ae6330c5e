"""Search semantics of the reference server on a real SQLite file, family by family.

Expected matches are computed from the resource dicts (tests/refserver_data.py) by plain
Python, never through the engine; every family is checked both ways (a match, a non-match).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from harness.refserver.search import SearchEngine, SearchError, geo
from harness.refserver.store import Store
from tests import refserver_data as d

BASE = "https://ror.test/fhir"
DATA = d.dataset()


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> SearchEngine:
    store = Store(tmp_path_factory.mktemp("search") / "ror.db")
    store.load(DATA)
    yield SearchEngine(store)
    store.close()


def found(engine: SearchEngine, rtype: str, *params: tuple[str, str]) -> set[str]:
    result = engine.search(rtype, [*params, ("_count", "1000")], base_url=BASE)
    assert result.total == len(result.matches)
    return {r["id"] for r in result.matches}


def expect(rtype: str, predicate) -> set[str]:
    return {r["id"] for r in DATA if r["resourceType"] == rtype and predicate(r)}


def codings(values: list[dict]) -> list[tuple[str | None, str | None]]:
    return [(c.get("system"), c.get("code")) for v in values for c in v.get("coding", [])]


def ext_values(res: dict, url: str, sub: str) -> list:
    return [v for e in res.get("extension", []) if e["url"] == url
            for s in e.get("extension", []) if s["url"] == sub for k, v in s.items() if k.startswith("value")]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# --- token ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, predicate", [
    (f"{d.R211}|227", lambda r: (d.R211, "227") in codings(r["specialty"])),
    ("013", lambda r: any(c == "013" for _, c in codings(r["specialty"]))),
    (f"{d.R211}|", lambda r: any(s == d.R211 for s, _ in codings(r["specialty"]))),
    ("|013", lambda r: any(s is None and c == "013" for s, c in codings(r["specialty"]))),
    (f"{d.R244}|013", lambda r: (d.R244, "013") in codings(r["specialty"])),
    (f"{d.R211}|227,{d.R211}|233", lambda r: {(d.R211, "227"), (d.R211, "233")} & set(codings(r["specialty"]))),
])
def test_token_forms(engine, value, predicate):
    assert found(engine, "HealthcareService", ("specialty", value)) == expect("HealthcareService", predicate)


def test_token_repeated_parameters_are_and(engine):
    got = found(engine, "HealthcareService", ("specialty", "013"), ("specialty", "233"))
    assert got == expect("HealthcareService", lambda r: {"013", "233"} <= {c for _, c in codings(r["specialty"])})
    assert got == {"hs-3"}


def test_token_not_includes_resources_without_the_code(engine):
    got = found(engine, "HealthcareService", ("specialty:not", "013"))
    assert got == expect("HealthcareService", lambda r: "013" not in {c for _, c in codings(r["specialty"])})
    assert got == {"hs-1"}


def test_token_text_matches_display_accent_insensitively(engine):
    assert found(engine, "HealthcareService", ("characteristic:text", "hospitalisation")) == set()
    assert found(engine, "HealthcareService", ("characteristic:text", "ACCUEIL séq")) == {"hs-1"}
    assert found(engine, "HealthcareService", ("characteristic:text", "SEQUENTIEL")) == {"hs-1"}  # second word
    assert found(engine, "HealthcareService", ("characteristic:text", "quentiel")) == set()  # word starts only


def test_token_text_also_reads_codeable_concept_text(tmp_path):
    store = Store(tmp_path / "t.db")
    concept = {**d.cc(d.R211, "227", "Pédopsychiatrie"), "text": "Psychiatrie de l'enfant"}
    store.put({"resourceType": "HealthcareService", "id": "t", "specialty": [concept]})
    engine = SearchEngine(store)
    for text, expected in (("pedopsy", {"t"}), ("enfant", {"t"}), ("adulte", set())):
        assert found(engine, "HealthcareService", ("specialty:text", text)) == expected
    assert found(engine, "HealthcareService", ("specialty", "227")) == {"t"}
    store.close()


def test_token_of_type_on_identifier(engine):
    assert found(engine, "Organization", ("identifier:of-type", f"{d.G07}|40|1000000002")) == {"org-eg"}
    assert found(engine, "Organization", ("identifier:of-type", f"{d.G07}|41|1000000002")) == set()


def test_token_boolean_and_code_with_implicit_system(engine):
    assert found(engine, "HealthcareService", ("active", "false")) == expect("HealthcareService", lambda r: not r["active"])
    assert found(engine, "Location", ("status", "http://hl7.org/fhir/location-status|active")) == expect(
        "Location", lambda r: r["status"] == "active")
    assert found(engine, "Location", ("status", "http://other/system|active")) == set()


def test_tag_with_and_without_system(engine):
    assert found(engine, "Organization", ("_tag", f"{d.R30}|84")) == {"org-other"}
    assert found(engine, "Organization", ("_tag", "52")) == expect(
        "Organization", lambda r: r["meta"]["tag"][0]["code"] == "52")


def test_id(engine):
    assert found(engine, "Location", ("_id", "loc-nantes,loc-lyon")) == {"loc-nantes", "loc-lyon"}
    assert found(engine, "Location", ("_id", "nothing")) == set()


# --- string --------------------------------------------------------------------------------

@pytest.mark.parametrize("param, value, predicate", [
    ("name", "pedo", lambda r: r["name"].lower().startswith("péd")),
    ("name", "CARDIO", lambda r: r["name"].startswith("Cardio")),
    ("name", "psychiatrie", lambda r: False),  # starts-with, not contains
    ("name:contains", "psychiatrie", lambda r: "psychiatrie" in r["name"]),
    ("name:exact", "Cardiologie", lambda r: r["name"] == "Cardiologie"),
    ("name:exact", "cardiologie", lambda r: r["name"] == "cardiologie"),
])
def test_string_modifiers(engine, param, value, predicate):
    assert found(engine, "HealthcareService", (param, value)) == expect("HealthcareService", predicate)


def test_string_postal_code_prefix_is_a_department(engine):
    assert found(engine, "Location", ("address-postalcode", "44")) == expect(
        "Location", lambda r: r["address"]["postalCode"].startswith("44"))
    assert found(engine, "Location", ("address-city", "saint-herb")) == {"loc-herblain"}
    assert found(engine, "Location", ("address-postalcode", "75")) == set()


def test_missing(engine):
    has_sector = lambda r: any("psychiatric-sector" in e["url"] for e in r["extension"])  # noqa: E731
    assert found(engine, "HealthcareService", ("psychiatric-sector:missing", "true")) == expect(
        "HealthcareService", lambda r: not has_sector(r))
    assert found(engine, "HealthcareService", ("psychiatric-sector:missing", "false")) == {"hs-2"}


# --- date ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, predicate", [
    ("ge2023-06-15", lambda t: t >= datetime(2023, 6, 15, tzinfo=timezone.utc)),
    ("gt2023-06-15", lambda t: t >= datetime(2023, 6, 16, tzinfo=timezone.utc)),
    ("lt2023-06-15", lambda t: t < datetime(2023, 6, 15, tzinfo=timezone.utc)),
    ("le2023-06-15", lambda t: t < datetime(2023, 6, 16, tzinfo=timezone.utc)),
    ("2023-06", lambda t: (t.year, t.month) == (2023, 6)),
    ("eq2023-06-15T12:30", lambda t: t.replace(second=0) == datetime(2023, 6, 15, 12, 30, tzinfo=timezone.utc)),
    ("ne2023", lambda t: t.year != 2023),
    ("sa2023", lambda t: t.year > 2023),
    ("eb2023", lambda t: t.year < 2023),
    ("2021-12-31T23:00:00Z", lambda t: t == datetime(2021, 12, 31, 23, tzinfo=timezone.utc)),  # +01:00 zone
])
def test_last_updated_prefixes(engine, value, predicate):
    assert found(engine, "Organization", ("_lastUpdated", value)) == expect(
        "Organization", lambda r: predicate(instant(r["meta"]["lastUpdated"])))


def test_date_range_ap_and_two_bounds(engine):
    got = found(engine, "Organization", ("_lastUpdated", "ge2022-01-01"), ("_lastUpdated", "lt2024"))
    assert got == expect("Organization", lambda r: datetime(2022, 1, 1, tzinfo=timezone.utc)
                         <= instant(r["meta"]["lastUpdated"]) < datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert "org-eg" in found(engine, "Organization", ("_lastUpdated", "ap2023-06-10"))
    assert "org-other" not in found(engine, "Organization", ("_lastUpdated", "ap2023-06-10"))


def test_period_end_and_extension_dates(engine):
    assert found(engine, "Location", ("capacity-update-date", "2024-03-01")) == {"loc-nantes", "loc-herblain"}
    assert found(engine, "Organization", ("price-validity-start-date", "ge2023-06")) == {"org-ej"}
    assert found(engine, "MeasureReport", ("period", "2023-10-03")) == set()  # not fully contained
    assert found(engine, "MeasureReport", ("period", "2023-10")) == {"report-1"}


# --- number and quantity -------------------------------------------------------------------

@pytest.mark.parametrize("value, predicate", [
    ("gt0", lambda n: n > 0), ("0", lambda n: n == 0), ("3", lambda n: n == 3), ("ne3", lambda n: n != 3),
    ("lt1", lambda n: n < 1), ("ge3", lambda n: n >= 3), ("le2", lambda n: n <= 2), ("sa2", lambda n: n > 2),
    ("eb3", lambda n: n < 3), ("2.5", lambda n: 2.45 <= n < 2.55), ("3e0", lambda n: 2.5 <= n < 3.5),
    ("ap3.2", lambda n: abs(n - 3.2) <= 0.32), ("ap10", lambda n: abs(n - 10) <= 1),
])
def test_number_prefixes(engine, value, predicate):
    assert found(engine, "Location", ("nb-capacity", value)) == expect(
        "Location", lambda r: any(predicate(v) for v in ext_values(r, d.ROR + "ror-location-supported-capacity",
                                                                    "nbCapacity")))


def test_price_amount_uses_the_capability_statement_name(engine):
    assert found(engine, "Organization", ("price-amount-value", "lt50")) == {"org-eg"}
    assert found(engine, "Organization", ("price-amount-value", "le80"), ("price-type", f"{d.R246}|02")) == {
        "org-ej", "org-other"}
    ignored = engine.search("Organization", [("amount-value", "lt50")], base_url=BASE).ignored
    assert [name for name, _ in ignored] == ["amount-value"]


@pytest.mark.parametrize("value, expected", [
    (f"ge200|{d.UCUM}|kg", {"loc-nantes"}), (f"ge300|{d.UCUM}|kg", set()), ("250||kg", {"loc-nantes"}),
    (f"250|{d.UCUM}|g", set()), ("250", {"loc-nantes"}), ("lt250", set()),
])
def test_quantity(engine, value, expected):
    assert found(engine, "Location", ("limit-value", value)) == expected


def test_age_range_quantities(engine):
    age = 35
    got = found(engine, "HealthcareService", ("age-range-low", f"le{age}"), ("age-range-high", f"ge{age}"))
    assert got == {"hs-2"}


# --- reference and uri --------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("Organization/org-oi", {"hs-1"}), ("org-oi", {"hs-1"}), (f"{BASE}/Organization/org-eg", {"hs-2"}),
    ("https://elsewhere.test/fhir/Organization/org-eg", set()), ("Organization/none", set()),
])
def test_reference_forms(engine, value, expected):
    assert found(engine, "HealthcareService", ("organization", value)) == expected


def test_reference_type_modifier_and_canonical(engine):
    assert found(engine, "Task", ("focus:HealthcareService", "hs-2")) == {"task-1"}
    assert found(engine, "Task", ("focus", "Organization/org-eg")) == {"task-2"}
    assert found(engine, "MeasureReport", ("measure", "https://ror.example/Measure/m1")) == {"report-1"}


def test_profile_uri(engine):
    assert found(engine, "Organization", ("_profile", d.ROR + "ror-organization")) == expect("Organization", bool)
    assert found(engine, "Organization", ("_profile:below", d.ROR)) == expect("Organization", bool)
    assert found(engine, "Organization", ("_profile", d.ROR + "ror-location")) == set()
    assert found(engine, "Organization", ("_profile:above", d.ROR + "ror-organization|0.7.0")) == expect(
        "Organization", bool)
    assert found(engine, "Organization", ("_profile:above", d.ROR + "ror-org")) == set()


# --- chains, hierarchy, reverse chains ----------------------------------------------------------

def test_chains(engine):
    assert found(engine, "HealthcareService", ("organization.identifier", "1000000002")) == {"hs-2"}
    assert found(engine, "HealthcareService", ("location.address-postalcode", "44")) == {"hs-1", "hs-2"}
    assert found(engine, "HealthcareService", ("location.capacity-status", f"{d.R330}|05"),
                 ("location.nb-capacity", "gt0")) == set()
    assert found(engine, "HealthcareService", ("location.capacity-status", f"{d.R330}|02"),
                 ("location.nb-capacity", "gt0")) == {"hs-1"}


@pytest.mark.parametrize("name", ["organization.identifier:above", "organization:above.identifier"])
def test_above_walks_partof_upwards(engine, name):
    # hs-1 -> org-oi -> org-eg -> org-ej; hs-2 -> org-eg -> org-ej; hs-3 -> org-other
    assert found(engine, "HealthcareService", (name, "1000000001")) == {"hs-1", "hs-2"}
    assert found(engine, "HealthcareService", (name, "1000000002")) == {"hs-1", "hs-2"}
    assert found(engine, "HealthcareService", (name, "1000000003")) == {"hs-1"}
    assert found(engine, "HealthcareService", ("organization.identifier", "1000000001")) == set()


def test_organization_type_above_as_in_st3_s5(engine):
    got = found(engine, "HealthcareService", ("organization.type:above", f"{d.R66}|189"))
    assert got == {"hs-1", "hs-2"}


def test_has(engine):
    assert found(engine, "HealthcareService", ("_has:PractitionerRole:service:practitioner.identifier",
                                               "810000000001")) == {"hs-1"}
    assert found(engine, "HealthcareService", ("_has:Task:focus:business-status", f"{d.R352}|02")) == {"hs-2"}
    assert found(engine, "HealthcareService", ("_has:Task:focus:business-status", f"{d.R352}|10")) == set()
    assert found(engine, "Measure", ("_has:MeasureReport:measure:date", "eq2023-10-06T15:00")) == {"measure-1"}
    assert found(engine, "Location", ("_has:HealthcareService:location:specialty", "227")) == {"loc-nantes"}


# --- near ------------------------------------------------------------------------------------

def test_near_insee_code_and_distances(engine):
    result = engine.search("HealthcareService", [("location.near-insee-code", "44162|15|km"),
                                                 ("_include", "HealthcareService:location")], base_url=BASE)
    assert {r["id"] for r in result.matches} == {"hs-1", "hs-2"}
    herblain, nantes = geo.commune_point("44162"), geo.commune_point("44109")
    expected = geo.distance_km(*herblain, *nantes)
    assert 3 < expected < 15
    assert result.distances[("Location", "loc-herblain")] == 0
    assert result.distances[("Location", "loc-nantes")] == pytest.approx(expected)
    assert found(engine, "Location", ("near-insee-code", "44162|1|km")) == {"loc-herblain"}
    assert found(engine, "Location", ("near-insee-code", "44162|600|km")) == {"loc-herblain", "loc-nantes", "loc-lyon"}
    assert found(engine, "Location", ("near-insee-code", "44162|5000|m")) == {"loc-herblain"}


def test_near_position(engine):
    assert found(engine, "Location", ("near", "47.21827323906432|-1.6369631507460436|15|km")) == {
        "loc-nantes", "loc-herblain"}
    assert found(engine, "Location", ("near", "47.21827323906432|-1.6369631507460436|0.5|km")) == set()


# --- _filter ------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ('(address-postalcode eq "69" or "44")', {"loc-nantes", "loc-herblain", "loc-lyon"}),
    ('(address-postalcode eq "69")', {"loc-lyon"}),
    ("(_id eq loc-nantes or loc-lyon)", {"loc-nantes", "loc-lyon"}),
    ("(identifier eq 52/loc-nantes or 52/loc-herblain)", {"loc-nantes", "loc-herblain"}),
    ("address-city co herbl", {"loc-herblain"}),
    ("address-city ew tes", {"loc-nantes"}),
    ("not (address-city sw nan)", {"loc-herblain", "loc-lyon"}),
    ("nb-capacity gt 0 and capacity-status eq " + d.R330 + "|02", {"loc-nantes"}),
    ("nb-capacity pr true", {"loc-nantes", "loc-herblain"}),
    ("_lastUpdated ge 2023-01-01 AND _lastUpdated lt 2024", {"loc-herblain"}),
])
def test_filter_location(engine, expression, expected):
    assert found(engine, "Location", ("_filter", expression)) == expected


def test_filter_ig_forms_on_healthcare_service(engine):
    st3_s4 = (f"(((service-category eq {d.R244}|102) or (specialty eq {d.R211}|227)) and "
              f"(age-range-low le 35|{d.UCUM}|a and age-range-high ge 35|{d.UCUM}|a))")
    assert found(engine, "HealthcareService", ("_filter", st3_s4)) == {"hs-2"}
    st3_s5 = f"((organization.type:above eq {d.R66}|189) or (service-category eq {d.R244}|62))"
    assert found(engine, "HealthcareService", ("_filter", st3_s5),
                 ("characteristic", f"{d.R210}|0626")) == {"hs-2"}
    st3_s10 = (f"(location.commune-cog eq {d.R13}|44109 OR location.commune-cog eq {d.R13}|69383)")
    assert found(engine, "HealthcareService", ("_filter", st3_s10)) == {"hs-1", "hs-3"}
    st3_s12 = f"(_has:Task:focus:business-status eq {d.R352}|02 or {d.R352}|10)"
    assert found(engine, "HealthcareService", ("_filter", st3_s12)) == {"hs-2"}


# --- sort ---------------------------------------------------------------------------------------

def ordered(engine, rtype, sort) -> list[str]:
    return [r["id"] for r in engine.search(rtype, [("_sort", sort)], base_url=BASE).matches]


def test_sort(engine):
    orgs = [r for r in DATA if r["resourceType"] == "Organization"]
    by_name = [r["id"] for r in sorted(orgs, key=lambda r: r["name"].lower().replace("ô", "o").replace("é", "e"))]
    assert ordered(engine, "Organization", "name") == by_name
    assert ordered(engine, "Organization", "-name") == by_name[::-1]
    by_updated = [r["id"] for r in sorted(orgs, key=lambda r: instant(r["meta"]["lastUpdated"]))]
    assert ordered(engine, "Organization", "_lastUpdated") == by_updated
    assert ordered(engine, "Organization", "-_lastUpdated") == by_updated[::-1]
    # several keys: category first (hs-2, hs-3 share 102), then name descending
    assert ordered(engine, "HealthcareService", "service-category,-name") == ["hs-2", "hs-3", "hs-1"]
    # chained key (ST8-S1): the organization's price start date, most recent first; none last
    # (hs-2 -> org-eg 2023-01-01, hs-3 -> org-other 2022-06-01, hs-1 -> org-oi without price)
    assert ordered(engine, "HealthcareService", "-organization.price-validity-start-date") == ["hs-2", "hs-3", "hs-1"]
    assert ordered(engine, "HealthcareService", "organization.price-validity-start-date") == ["hs-3", "hs-2", "hs-1"]


# --- ignored and refused -----------------------------------------------------------------------

def test_unknown_and_disabled_parameters_are_reported_not_applied(engine):
    result = engine.search("HealthcareService", [("equipment-type", "088"), ("_revincluded", "PractitionerRole:service"),
                                                 ("specialty", "227"), ("name", ""), ("_content", "cardio")],
                           base_url=BASE)
    assert {r["id"] for r in result.matches} == {"hs-1"}
    reasons = dict(result.ignored)
    assert "ror30" in reasons["equipment-type"]
    assert "unknown" in reasons["_revincluded"]
    assert "empty" in reasons["name"]
    assert "not implemented" in reasons["_content"]


@pytest.mark.parametrize("rtype, params, code", [
    ("Organization", [("_lastUpdated", "2023-13-01")], "invalid"),
    ("Organization", [("_lastUpdated", "gt2023-06-15T25:00")], "invalid"),
    ("Location", [("nb-capacity", "many")], "invalid"),
    ("Location", [("limit-value", "1|2")], "invalid"),
    ("HealthcareService", [("specialty", "a|b|c")], "invalid"),
    ("HealthcareService", [("specialty:in", "http://vs")], "not-supported"),
    ("HealthcareService", [("specialty:bogus", "1")], "invalid"),
    ("HealthcareService", [("name:missing", "maybe")], "invalid"),
    ("Task", [("focus.identifier", "1")], "invalid"),
    ("HealthcareService", [("organization.nothing", "1")], "invalid"),
    ("HealthcareService", [("_has:Task:focus:nothing", "1")], "invalid"),
    ("Location", [("near-insee-code", "99999|10|km")], "invalid"),
    ("Location", [("near-insee-code", "44162|10|miles")], "invalid"),
    ("Location", [("near", "north|south")], "invalid"),
    ("Organization", [("_count", "-1")], "invalid"),
    ("Organization", [("_sort", "nothing")], "invalid"),
    ("Organization", [("_filter", "(name eq x")], "invalid"),
    ("Organization", [("_filter", "name xx y")], "invalid"),
    ("Organization", [("_filter", "name gt 3")], "invalid"),
    ("Organization", [("_filter", "name re x")], "not-supported"),
    ("Organization", [("_page", "nonsense")], "invalid"),
    ("Patient", [], "not-supported"),
])
def test_bad_requests_raise_search_error(engine, rtype, params, code):
    with pytest.raises(SearchError) as info:
        engine.search(rtype, params, base_url=BASE)
    assert info.value.code == code
    assert info.value.status in (400, 404)
    assert info.value.diagnostics
