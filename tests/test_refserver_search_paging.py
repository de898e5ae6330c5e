"""Paging, includes and result bookkeeping of the reference server search, on a real SQLite file.

Paging is checked by walking every page (no duplicate, no loss, constant total) including while
the data changes between pages; includes against references read from the resources directly.
"""
from __future__ import annotations

import pytest

from harness.refserver.search import DEFAULT_COUNT, MAX_COUNT, SearchEngine, SearchError
from harness.refserver.search.paging import Snapshots
from harness.refserver.store import Store
from tests import refserver_data as d

BASE = "https://ror.test/fhir"
STANDARD_INCLUDES = [("_include", "HealthcareService:organization"), ("_include:iterate", "Organization:partof"),
                     ("_include", "HealthcareService:location"), ("_revinclude", "PractitionerRole:service"),
                     ("_include", "PractitionerRole:practitioner")]


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    generator = pytest.importorskip("harness.dataset.generator")
    return list(generator.generate("small", 7))


@pytest.fixture()
def store(tmp_path, generated) -> Store:
    s = Store(tmp_path / "ror.db")
    s.load(generated)
    yield s
    s.close()


def walk(engine: SearchEngine, rtype: str, params: list[tuple[str, str]]) -> tuple[list[str], set[int]]:
    """Follow `next` page tokens to the end: ids in order, and every total seen."""
    ids, totals, token = [], set(), None
    while True:
        extra = [("_page", token)] if token else []
        result = engine.search(rtype, params + extra, base_url=BASE)
        ids += [r["id"] for r in result.matches]
        totals.add(result.total)
        assert len(result.matches) <= int(dict(params).get("_count", DEFAULT_COUNT))
        token = result.next_token
        if token is None:
            assert "next" not in result.links
            return ids, totals
        assert result.links["next"].endswith(f"_page={token}")


def test_walking_all_pages_loses_and_repeats_nothing(store, generated):
    engine = SearchEngine(store)
    expected = [r["id"] for r in generated if r["resourceType"] == "HealthcareService"]
    ids, totals = walk(engine, "HealthcareService", [("_count", "7")])
    assert ids == expected  # default order: load order
    assert totals == {len(expected)}


def test_pages_stay_stable_while_the_data_changes(store, generated):
    engine = SearchEngine(store)
    params = [("_count", "10"), ("_sort", "-_lastUpdated")]
    first = engine.search("Location", params, base_url=BASE)
    before = [r["id"] for r in first.matches]
    # between pages: a new Location, and an existing one updated so that it would sort first
    store.put({"resourceType": "Location", "id": "loc-new", "status": "active"})
    moved = next(r for r in generated if r["resourceType"] == "Location" and r["id"] not in before)
    store.put({**moved, "name": "renamed"})
    ids, token = list(before), first.next_token
    while token:
        page = engine.search("Location", params + [("_page", token)], base_url=BASE)
        assert page.total == first.total
        ids += [r["id"] for r in page.matches]
        token = page.next_token
    locations = [r["id"] for r in generated if r["resourceType"] == "Location"]
    assert sorted(ids) == sorted(locations) and len(ids) == len(set(ids))
    assert "loc-new" not in ids
    fresh = engine.search("Location", params, base_url=BASE)
    assert fresh.total == first.total + 1 and fresh.matches[0]["id"] in ("loc-new", moved["id"])


def test_page_tokens_are_checked(store):
    engine = SearchEngine(store, snapshots=Snapshots(max_entries=1))
    first = engine.search("Organization", [("_count", "5")], base_url=BASE)
    with pytest.raises(SearchError) as other:
        engine.search("Organization", [("_count", "5"), ("name", "a"), ("_page", first.next_token)], base_url=BASE)
    assert other.value.status == 400
    engine.search("Practitioner", [("_count", "5")], base_url=BASE)  # evicts the first snapshot
    with pytest.raises(SearchError) as expired:
        engine.search("Organization", [("_count", "5"), ("_page", first.next_token)], base_url=BASE)
    assert expired.value.status == 410


def test_count_default_bound_and_zero(store, generated):
    engine = SearchEngine(store)
    n_orgs = sum(r["resourceType"] == "Organization" for r in generated)
    assert len(engine.search("Organization", [], base_url=BASE).matches) == min(n_orgs, DEFAULT_COUNT)
    assert engine.search("Organization", [("_count", "100000")], base_url=BASE).count == MAX_COUNT
    none = engine.search("Organization", [("_count", "0")], base_url=BASE)
    assert none.matches == [] and none.total == n_orgs
    summary = engine.search("Organization", [("_summary", "count")], base_url=BASE)
    assert summary.matches == [] and summary.total == n_orgs and summary.passthrough == [("_summary", "count")]


def _ref(resource: dict, *path: str) -> list[str]:
    values = [resource]
    for name in path:
        values = [v for x in values for v in (x.get(name) if isinstance(x.get(name), list) else [x.get(name)]) if v]
    return [v["reference"] for v in values if isinstance(v, dict) and "reference" in v]


def test_standard_include_set_on_generated_data(store, generated):
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in generated}
    engine = SearchEngine(store)
    result = engine.search("HealthcareService", [("_count", "5"), *STANDARD_INCLUDES], base_url=BASE)
    services = result.matches
    expected: set[str] = set()
    for hs in services:
        expected.update(_ref(hs, "providedBy"), _ref(hs, "location"))
    frontier = [ref for ref in expected if ref.startswith("Organization/")]
    while frontier:  # :iterate Organization:partof
        parents = [p for ref in frontier for p in _ref(by_ref[ref], "partOf") if p not in expected]
        expected.update(parents)
        frontier = parents
    hs_refs = {f"HealthcareService/{hs['id']}" for hs in services}
    roles = [r for r in generated if r["resourceType"] == "PractitionerRole"
             and set(_ref(r, "healthcareService")) & hs_refs]
    expected.update(f"PractitionerRole/{r['id']}" for r in roles)
    expected.update(p for r in roles for p in _ref(r, "practitioner"))
    got = [f"{r['resourceType']}/{r['id']}" for r in result.included]
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert any(g.startswith("Practitioner/") for g in got) and any(g.startswith("Organization/") for g in got)


def test_include_without_iterate_does_not_climb(tmp_path):
    store = Store(tmp_path / "ror.db")
    store.load(d.dataset())
    engine = SearchEngine(store)
    once = engine.search("HealthcareService", [("_id", "hs-1"), ("_include", "HealthcareService:organization"),
                                               ("_include", "Organization:partof")], base_url=BASE)
    assert [r["id"] for r in once.included] == ["org-oi", "org-eg"]  # one step per directive
    iterated = engine.search("HealthcareService", [("_id", "hs-1"), ("_include", "HealthcareService:organization"),
                                                   ("_include:iterate", "Organization:partof")], base_url=BASE)
    assert [r["id"] for r in iterated.included] == ["org-oi", "org-eg", "org-ej"]
    tasks = engine.search("HealthcareService", [("_id", "hs-2"), ("_revinclude", "Task:focus")], base_url=BASE)
    assert [r["id"] for r in tasks.included] == ["task-1"]
    reports = engine.search("Measure", [("identifier", "m1"), ("_revinclude", "MeasureReport:measure")],
                            base_url=BASE)
    assert [r["id"] for r in reports.included] == ["report-1"]
    locations = engine.search("Location", [("_id", "loc-nantes"), ("_revinclude", "HealthcareService:location")],
                              base_url=BASE)
    assert [r["id"] for r in locations.included] == ["hs-1"]
    bad = engine.search("HealthcareService", [("_include", "Healthcareservice:location"),
                                              ("_include", "HealthcareService:name")], base_url=BASE)
    assert [name for name, _ in bad.ignored] == ["_include=Healthcareservice:location", "_include=HealthcareService:name"]
    assert bad.included == []
    store.close()


def test_links_carry_the_query(store):
    engine = SearchEngine(store)
    result = engine.search("Organization", [("_count", "3"), ("name", "centre hospitalier")], base_url=BASE + "/")
    assert result.links["self"] == f"{BASE}/Organization?_count=3&name=centre%20hospitalier"
    if result.total > 3:
        assert result.links["next"].startswith(result.links["self"] + "&_page=")
