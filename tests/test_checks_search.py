"""The `search` check on canned result pages: paging coherence always, each option both ways."""
from __future__ import annotations

from checks_support import BASE, Pages, bundle, context, response

from harness.checks import registry

SPECIALTY = "https://mos.esante.gouv.fr/NOS/TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle"


def hs(n: int, code: str = "229", org: str = "org-1") -> dict:
    return {"resourceType": "HealthcareService", "id": f"hs-{n}", "providedBy": {"reference": f"Organization/{org}"},
            "specialty": [{"coding": [{"system": SPECIALTY, "code": code}]}]}


ORG = {"resourceType": "Organization", "id": "org-1"}
QUERY = [("specialty", f"{SPECIALTY}|229"), ("_count", "2")]
NEXT = f"{BASE}/HealthcareService?page=2"


def search(first: dict, params: dict, pages: dict | None = None, query=QUERY):
    services = Pages(pages)
    ctx = context(response(200, first), query=list(query), services=services)
    return registry.get("search").run(ctx, params), ctx, services


def checks(findings) -> list[str]:
    return [f.check for f in findings]


def test_a_coherent_two_page_search_passes_every_option():
    first = bundle([hs(1), hs(2), ORG], total=3, next_url=NEXT, modes=["match", "match", "include"])
    found, ctx, services = search(first, {"matches": True, "total": 3, "min_matches": 3, "max_matches": 3,
                                          "contains": ["HealthcareService/hs-3"], "includes": True, "modes": True},
                                  {NEXT: bundle([hs(3)], total=3)},
                                  QUERY + [("_include", "HealthcareService:organization")])
    assert found == []
    assert services.fetched == [NEXT] and len(ctx.more_exchanges) == 1


def test_a_match_that_does_not_satisfy_the_query_fails():
    found, _, _ = search(bundle([hs(1), hs(2, code="230")], total=2), {"matches": True})
    assert checks(found) == ["search.matches"] and "HealthcareService/hs-2" in found[0].actual


def test_duplicates_across_pages():
    found, _, _ = search(bundle([hs(1), hs(2)], total=3, next_url=NEXT), {}, {NEXT: bundle([hs(2), hs(3)], total=3)})
    assert checks(found) == ["search.paging"] and "doublon" in found[0].message_fr


def test_a_next_link_back_to_a_read_page_is_a_cycle():
    found, _, services = search(bundle([hs(1)], total=2, next_url=NEXT), {},
                                {NEXT: bundle([hs(2)], total=2, next_url=f"{BASE}/HealthcareService")})
    assert "ne finit jamais" in found[0].message_fr and services.fetched == [NEXT]


def test_a_broken_next_link():
    found, _, _ = search(bundle([hs(1)], total=2, next_url=NEXT), {})
    assert checks(found) == ["search.paging"] and found[0].actual == "404"


def test_a_next_link_to_another_origin_is_not_followed():
    found, _, services = search(bundle([hs(1)], total=2, next_url="http://elsewhere.test/page2"), {})
    assert "sort de la cible" in found[0].message_fr and services.fetched == []


def test_count_ignored():
    found, _, _ = search(bundle([hs(1), hs(2), hs(3)], total=3), {})
    assert checks(found) == ["search.paging"] and "_count=2" in found[0].message_fr


def test_total_inconsistent_with_the_matches_or_the_data():
    found, _, _ = search(bundle([hs(1), hs(2)], total=3), {"total": True})
    assert checks(found) == ["search.total"] and "contiennent 2" in found[0].message_fr
    found, _, _ = search(bundle([hs(1), hs(2)], total=2), {"total": 5})
    assert checks(found) == ["search.total"] and found[0].expected == "5"
    found, _, _ = search(bundle([hs(1)]), {"total": True})
    assert found[0].actual == "absent"


def test_contains_and_counts():
    found, _, _ = search(bundle([hs(1)], total=1), {"contains": ["HealthcareService/hs-9"], "min_matches": 2, "max_matches": 0})
    assert sorted(checks(found)) == ["search.contains", "search.count", "search.count"]
    assert not any(f.inconclusive for f in found)


def test_missing_includes_and_wrong_modes():
    query = QUERY + [("_include", "HealthcareService:organization")]
    found, _, _ = search(bundle([hs(1), hs(2)], total=2), {"includes": True}, query=query)
    assert checks(found) == ["search.includes"] and "Organization/org-1" in found[0].actual
    found, _, _ = search(bundle([hs(1), ORG], total=1, modes=["match", "match"]), {"includes": True, "modes": True},
                         query=query)
    assert checks(found) == ["search.modes"] and "Organization/org-1 marqué « match »" in found[0].message_fr


def test_running_out_of_budget_is_inconclusive_not_failed():
    pages = {f"{BASE}/p{i}": bundle([hs(i)], total=10, next_url=f"{BASE}/p{i + 1}") for i in range(2, 10)}
    first = bundle([hs(1)], total=10, next_url=f"{BASE}/p2")
    found, _, services = search(first, {"contains": ["HealthcareService/hs-9"], "budget": {"pages": 3}}, pages)
    assert len(services.fetched) == 2
    assert checks(found) == ["search.contains"] and found[0].inconclusive


def test_a_criterion_the_harness_cannot_judge_is_inconclusive_unless_ignored():
    query = QUERY + [("_filter", "name eq x")]
    found, _, _ = search(bundle([hs(1)], total=1), {"matches": True}, query=query)
    assert checks(found) == ["search.matches"] and found[0].inconclusive
    found, _, _ = search(bundle([hs(1)], total=1), {"matches": {"ignore": ["_filter"]}}, query=query)
    assert found == []


def _dated(n: int, when: str | None) -> dict:
    return {**hs(n), **({"meta": {"lastUpdated": when}} if when else {})}


def test_sorted_judges_the_order_across_pages():
    query = [("_sort", "-_lastUpdated"), ("_count", "2")]
    first = bundle([_dated(1, "2025-01-02T00:00:00Z"), _dated(2, "2024-06-01T00:00:00Z")], total=3, next_url=NEXT)
    found, _, _ = search(first, {"sorted": True}, {NEXT: bundle([_dated(3, "2024-01-01T00:00:00+02:00")], total=3)}, query)
    assert found == []
    found, _, _ = search(first, {"sorted": True}, {NEXT: bundle([_dated(3, "2024-07-01T00:00:00Z")], total=3)}, query)
    assert checks(found) == ["search.sorted"] and "HealthcareService/hs-2" in found[0].message_fr
    ascending = [("_sort", "_lastUpdated")]
    found, _, _ = search(bundle([_dated(1, "2024-01-01T00:00:00Z"), _dated(2, None), _dated(3, "2023-01-01T00:00:00Z")],
                                total=3), {"sorted": True}, query=ascending)
    assert checks(found) == ["search.sorted"] and not found[0].inconclusive  # a resource without value is left out


def test_sorted_on_a_key_the_harness_cannot_order_is_inconclusive():
    found, _, _ = search(bundle([hs(1), hs(2)], total=2), {"sorted": True}, query=[("_sort", "specialty")])
    assert checks(found) == ["search.sorted"] and found[0].inconclusive
    found, _, _ = search(bundle([hs(1), hs(2)], total=2), {"sorted": True}, query=QUERY)
    assert checks(found) == ["search.sorted"] and found[0].inconclusive  # no _sort in the query


def test_a_body_that_is_not_a_bundle():
    found = registry.get("search").run(context(response(200, {"resourceType": "OperationOutcome"})), {})
    assert found[0].actual == "OperationOutcome"
