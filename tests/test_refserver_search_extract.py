"""Index extraction: the native FHIRPath subset agrees with fhirpathpy, every registry parameter
is indexable, and each IG defect workaround finds data shaped as the IG's own definitions say.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from harness.fhir.fhirpath import NotEvaluable
from harness.fhir.packages import FIXTURES
from harness.refserver.search import SearchEngine
from harness.fhir.search_corrections import CORRECTIONS, RENAMES
from harness.refserver.search.index import fhirpathpy_extractor
from harness.refserver.search.paths import Unsupported, parse
from harness.refserver.store import Store
from tests import refserver_data as d

EXAMPLES = sorted((FIXTURES / "examples").glob("*/*.json"))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    s = Store(tmp_path_factory.mktemp("extract") / "ror.db")
    yield s
    s.close()


def corpus() -> list[dict]:
    resources = [json.loads(Path(p).read_text(encoding="utf-8")) for p in EXAMPLES] + d.dataset()
    try:
        from harness.dataset.generator import generate
    except ImportError:
        return resources
    return resources + list(generate("small", 3))


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float, Decimal)):
        return str(float(value))
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if isinstance(value, (dict, list)) else str(value)


def test_native_and_fhirpathpy_extract_the_same_values(store):
    resources = corpus()
    assert len({r["resourceType"] for r in resources}) >= 8
    compared, native_params, disagreements = 0, 0, []
    for compiled in (cp for cps in store.indexer.by_type.values() for cp in cps):
        if not compiled.native:
            continue
        native_params += 1
        try:
            slow = fhirpathpy_extractor(compiled.param.expression, compiled.param.resource_type)
        except NotEvaluable:  # e.g. `resolve() is Patient`: fhirpathpy needs a resolver
            continue
        for res in resources:
            if res["resourceType"] != compiled.param.resource_type:
                continue
            fast = sorted(_plain(i.value) for i in compiled.extract(res, {}))
            reference = sorted(_plain(i.value) for i in slow(res))
            compared += 1
            if fast != reference:
                disagreements.append((compiled.param.key, res["id"], fast, reference))
    assert not disagreements, disagreements[:5]
    assert native_params > 200 and compared > 5000


def test_every_parameter_is_indexed(store):
    assert store.indexer.unindexed == {}
    fallbacks = [cp.param.key for cps in store.indexer.by_type.values() for cp in cps if not cp.native]
    assert fallbacks == []  # every expression of the served types compiles natively today


@pytest.mark.parametrize("expression", [
    "Location.name.first()", "Location.a[0]", "Location.name + 'x'", "Location.extension.exists()",
    "Location.where(name = 'a' or name = 'b')",
])
def test_unsupported_shapes_are_left_to_fhirpathpy(expression):
    with pytest.raises(Unsupported):
        parse(expression)


def test_fhirpathpy_fallback_reads_abstract_roots():
    location = next(r for r in d.dataset() if r["id"] == "loc-nantes")
    values = fhirpathpy_extractor("Resource.id | DomainResource.extension.value.ofType(integer)", "Location")(location)
    assert [v.value for v in values] == ["loc-nantes"]


def test_the_published_capacity_expression_finds_nothing_and_the_corrected_one_does(store, tmp_path):
    location = next(r for r in d.dataset() if r["id"] == "loc-nantes")
    param = store.registry.get("Location", "capacity-status")
    published = fhirpathpy_extractor(param.published_expression, "Location")(location)
    assert published == []  # `.value.as(code)` on a CodeableConcept: the IG defect
    corrected = store.indexer.by_type["Location"]
    values = next(cp for cp in corrected if cp.param.name == "capacity-status").extract(location, {})
    assert [v.value["coding"][0]["code"] for v in values] == ["02"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> SearchEngine:
    s = Store(tmp_path_factory.mktemp("corr") / "ror.db")
    s.load(d.dataset())
    yield SearchEngine(s)
    s.close()


@pytest.mark.parametrize("rtype, name, value, expected", [
    ("Location", "capacity-type", f"{d.R329}|01", {"loc-nantes", "loc-herblain"}),
    ("Location", "gender-capacity-available", f"{d.R332}|01", {"loc-nantes"}),
    ("Location", "capacity-closing-type", f"{d.R333}|01", {"loc-herblain"}),
    ("Location", "equipment-feature", f"{d.R340}|001", {"loc-nantes"}),
    ("Location", "equipment-type", f"{d.R212}|088", {"loc-nantes"}),
    ("Location", "near-insee-code", "44109", {"loc-nantes"}),
    ("Organization", "special-price", f"{d.R250}|03", {"org-ej"}),
    ("Organization", "price-dependency-level", f"{d.R237}|02", {"org-eg"}),
    ("Organization", "price-validity-start-date", "2022-06-01", {"org-other"}),
    ("Organization", "price-amount-value", "60", {"org-ej"}),
    ("Organization", "drop-zone", "true", {"org-ej"}),
])
def test_corrected_parameters_match_ig_shaped_data(loaded, rtype, name, value, expected):
    result = loaded.search(rtype, [(name, value)], base_url="https://ror.test/fhir")
    assert {r["id"] for r in result.matches} == expected
    assert result.ignored == []


def test_registry_names_follow_the_capability_statement(store):
    registry = store.registry
    assert registry.get("Organization", "amount-value") is None
    assert next(iter(RENAMES.values()))[1] in registry.get("Organization", "price-amount-value").correction
    assert ("HealthcareService", "equipment-type") in registry.disabled
    assert ("Organization", "oi-name") in registry.disabled
    corrected = {p.url for p in registry.all() if p.expression != p.published_expression}
    assert {u for u, c in CORRECTIONS.items() if c.expression is not None} <= corrected
    # the rest are the `as()` -> `ofType()` singleton rewrites (for strict engines), nothing else
    singleton = {p.url for p in registry.all() if p.url in corrected - set(CORRECTIONS)}
    assert singleton and all(".ofType(" in p.expression and ".as(" in p.published_expression
                             for p in registry.all() if p.url in singleton)
