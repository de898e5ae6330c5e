"""Each check of the status, headers, resource, bundle and validate families, both ways."""
from __future__ import annotations

import json
from pathlib import Path

from checks_support import context, response

from harness.checks import registry
from harness.fhir.validation.outcome import Issue, ValidationResult

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"


def run(kind: str, ctx, params):
    return registry.get(kind).run(ctx, params)


def test_every_check_is_documented():
    for kind in registry.all_kinds():
        assert kind.doc and kind.run


def test_status():
    ctx = context(response(404, {"resourceType": "OperationOutcome"}))
    assert run("status", ctx, 404) == [] and run("status", ctx, "4xx") == [] and run("status", ctx, [200, 404]) == []
    [finding] = run("status", ctx, 200)
    assert (finding.expected, finding.actual) == ("200", "404") and "reçu 404" in finding.message_fr
    assert run("status", context(None), 200)[0].actual == "aucune réponse"


def test_headers():
    ctx = context(response(200, {}, headers={"content-type": "application/fhir+json; charset=utf-8", "ETag": 'W/"2"'}))
    assert run("headers", ctx, {"Content-Type": {"contains": "application/fhir+json"}, "etag": {"matches": r'^W/"\d+"$'},
                                "Location": {"present": False}}) == []
    found = run("headers", ctx, {"Content-Type": {"equals": "application/json"}, "Location": {"present": True},
                                 "ETag": {"present": False}, "etag": {"contains": "3"}})
    assert [f.expected for f in found] == ["Content-Type = application/json", "Location présent", "ETag absent",
                                           "etag contient 3"]


def test_resource_type():
    ctx = context(response(200, {"resourceType": "Bundle"}))
    assert run("resource_type", ctx, "Bundle") == []
    assert run("resource_type", ctx, "OperationOutcome")[0].actual == "Bundle"
    [not_json] = run("resource_type", context(response(200, text="<html>oops</html>")), "Bundle")
    assert "n'est pas du JSON" in not_json.message_fr and not_json.actual == "<html>oops</html>"
    [no_type] = run("resource_type", context(response(200, {"a": 1})), "Bundle")
    assert "sans resourceType" in no_type.message_fr


def test_fhirpath_true_equals_and_not_evaluable():
    ctx = context(response(200, {"resourceType": "Bundle", "total": 3, "type": "searchset"}))
    assert run("fhirpath", ctx, [{"expr": "total = 3"}, {"expr": "type", "equals": "searchset"}, {"expr": "total"}]) == []
    found = run("fhirpath", ctx, [{"expr": "total = 4", "message": "mauvais total"}, {"expr": "entry.exists()"},
                                  {"expr": "type", "equals": "collection"}, {"expr": "link.url"}])
    assert [f.message_fr for f in found[:1]] == ["mauvais total"]
    assert [f.actual for f in found] == ["[False]", "[False]", "['searchset']", "[]"]
    [unjudged] = run("fhirpath", ctx, [{"expr": "entry.resource.conformsTo('x')"}])
    assert unjudged.inconclusive


def test_bundle():
    page = {"resourceType": "Bundle", "type": "searchset", "total": 2, "link": [{"relation": "self", "url": "x"}],
            "entry": [{"fullUrl": "a", "resource": {"resourceType": "Location"}},
                      {"fullUrl": "b", "resource": {"resourceType": "Location"}}]}
    good = {"type": "searchset", "total": "present", "entries": {"min": 1, "max": 2}, "links": ["self"], "full_urls": True}
    assert run("bundle", context(response(200, page)), good) == []
    assert run("bundle", context(response(200, page)), {"total": {"min": 2}, "entries": 2}) == []
    broken = {**page, "type": "collection", "link": [], "entry": [{"resource": {"resourceType": "Location"}}]}
    del broken["total"]
    found = run("bundle", context(response(200, broken)), good)
    assert [f.check for f in found] == ["bundle.type", "bundle.total", "bundle.links", "bundle.full_urls"]
    assert run("bundle", context(response(200, page)), {"total": 3})[0].message_fr == \
        "le Bundle annonce total = 2, attendu 3"
    assert run("bundle", context(response(200, {"resourceType": "Location"})), good)[0].actual == "Location"


class _FakeValidator:
    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues

    def validate(self, resource, profile=None, origin=None):
        return ValidationResult(resource.get("resourceType"), resource.get("id"), issues=list(self.issues))


class _Services:
    def __init__(self, validator) -> None:
        self._validator = validator

    def validator(self):
        return self._validator


def _issue(severity: str, code: str) -> Issue:
    return Issue(severity, code, "binding-inconclusive" if code == "exception" else "cardinality-min", "m", "m fr",
                 "Location.type[0]")


def test_validate_errors_fail_and_unjudged_bindings_are_inconclusive():
    ctx = context(response(200, {"resourceType": "Location"}))
    ctx.services = _Services(_FakeValidator([_issue("warning", "code-invalid")]))
    assert run("validate", ctx, True) == []
    ctx.services = _Services(_FakeValidator([_issue("error", "required"), _issue("warning", "exception")]))
    [failed] = run("validate", ctx, True)
    assert not failed.inconclusive and failed.issues[0]["expression"] == "Location.type[0]"
    ctx.services = _Services(_FakeValidator([_issue("warning", "exception")]))
    [unjudged] = run("validate", ctx, True)
    assert unjudged.inconclusive


def test_validate_with_the_real_validator():
    location = json.loads((EXAMPLES / "ror-0.7.0" / "Location-ror-location-exemple.json").read_text(encoding="utf-8"))
    assert run("validate", context(response(200, location)), True) == []
    location["bogus"] = 1
    [failed] = run("validate", context(response(200, location)), True)
    assert failed.issues[0]["id"] == "unknown-element" and failed.issues[0]["expression"] == "Location.bogus"
    page = {"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": "http://x/Location/1", "resource": location,
                                                                      "search": {"mode": "match"}}]}
    [in_bundle] = run("validate", context(response(200, page)), {
        "profile": "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location"})
    assert in_bundle.issues[0]["id"] == "unknown-element"
