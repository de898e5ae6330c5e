"""harness.fhir.fhirpath: compile checks, FHIR functions, typed foci and real invariants both ways.

The survey test runs every constraint of the bundled packages on the IG examples and compares
the outcome with the reviewed lists below: a change in what we can evaluate must be reviewed.
"""
from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

from harness.fhir.fhirpath import FhirPath, NotEvaluable, correction_for, focus_type
from harness.fhir.packages import PackageSet

ROOT = Path(__file__).resolve().parent.parent
ROR_URL = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"


def _load_tool():
    spec = importlib.util.spec_from_file_location("fhirpath_support", ROOT / "tools" / "fhirpath_support.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need their module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fp() -> FhirPath:
    return FhirPath()


@pytest.fixture(scope="module")
def ror_examples() -> dict[str, dict]:
    return {r["resourceType"]: r for r in PackageSet("ans.fhir.fr.ror#0.7.0").root.examples()}


@pytest.fixture
def hs(ror_examples) -> dict:
    return copy.deepcopy(ror_examples["HealthcareService"])


def _extension(resource: dict, url: str) -> dict:
    return next(e for e in resource["extension"] if e["url"] == url)


# --- the survey of every invariant -------------------------------------------------------------

#: Reviewed: (key, expression) that do not compile. None: every invariant in the packages compiles.
REVIEWED_NOT_COMPILED: dict[str, str] = {}
#: Reviewed: invariants that returned false on an example, and on which nodes. dom-6 is a warning
#: (no narrative); these examples have no `text`, which is true of the source files.
REVIEWED_FALSE = {
    "dom-6": {"HealthcareService/1234564", "Location/exemple-location-cardiologie-12122019",
              "Location/exemple-location-pneumologie-05122019", "Location/ror-location-exemple",
              "Organization/exemple-uf-medicale-pneumologie-13122019",
              "Questionnaire/ror-questionnaire-offre-mco", "Task/ror-task-exemple"},
}


@pytest.fixture(scope="module")
def survey():
    tool = _load_tool()
    return tool, tool.survey()


def test_every_invariant_compiles_as_reviewed(survey):
    _, rows = survey
    assert len(rows) == 101
    assert {r.constraint.key: r.compile_error for r in rows if r.compile_error} == REVIEWED_NOT_COMPILED


def test_every_reached_invariant_evaluates_on_the_examples(survey):
    _, rows = survey
    assert {r.constraint.key: r.not_evaluable for r in rows if r.not_evaluable} == {}
    assert {r.constraint.key: set(r.failed) for r in rows if r.failed} == REVIEWED_FALSE
    reached = {r.constraint.key for r in rows if r.passed}
    # the ROR 0.7.0 invariants and the R4 ones the examples exercise hardest
    assert {"ror-inv-1", "ror-questionnaire-version-required", "ele-1", "ext-1", "dom-3", "txt-1",
            "per-1", "rng-2", "ref-1", "que-1", "org-1"} <= reached
    assert sum(r.passed for r in rows) > 4000


def test_support_table_is_up_to_date(survey):
    tool, rows = survey
    assert tool.DOC.read_text(encoding="utf-8") == tool.render(rows), \
        "docs/fhirpath-support.md is stale: run .venv/bin/python tools/fhirpath_support.py"


# --- compile time ------------------------------------------------------------------------------


@pytest.mark.parametrize("expression, reason", [
    ("name given", "syntax error"),  # fhirpathpy alone parses this as `name`
    ("name.where(", "syntax error"),
    ("'unterminated", "syntax error"),
    ("code.memberOf('http://x')", "terminology"),
    ("subject.resolve()", "resolver"),
    ("conformsTo('http://x')", "profile validation"),
    ("name.frobnicate()", "not supported by fhirpathpy"),
    ("extension()", "does not take 0"),
    ("name.exists(1, 2)", "does not take 2"),
])
def test_compile_refuses_what_cannot_run(fp, expression, reason):
    with pytest.raises(NotEvaluable) as exc:
        fp.compile(expression)
    assert exc.value.phase == "compile" and reason in exc.value.reason


def test_compile_is_cached_including_failures(fp):
    assert fp.compile("name.given") is fp.compile("name.given")
    with pytest.raises(NotEvaluable) as first:
        fp.compile("a b")
    with pytest.raises(NotEvaluable) as second:
        fp.compile("a b")
    assert first.value is second.value


# --- typed foci and navigation -----------------------------------------------------------------


def test_focus_type_accepts_types_and_element_paths():
    assert focus_type("r4", "Extension") == "Extension"
    assert focus_type("r4", "Location.address") == "Address"
    assert focus_type("r4", "Questionnaire.item.item") == "Questionnaire.item"
    assert focus_type("r4", "HealthcareService.availableTime") == "HealthcareService.availableTime"
    with pytest.raises(ValueError, match="choice"):
        focus_type("r4", "Extension.value[x]")
    with pytest.raises(ValueError, match="neither"):
        focus_type("r4", "Location.nonsense")


def test_a_non_resource_focus_needs_its_type(fp, hs):
    with pytest.raises(ValueError, match="type"):
        fp.evaluate("url", hs["extension"][0])
    url = ROR_URL + "ror-healthcareservice-sensitive-unit"
    assert fp.evaluate("url", hs["extension"][0], type="Extension") == [url]


def test_choice_elements_resolve_on_a_typed_extension(fp, hs):
    period_ext = hs["availableTime"][0]["extension"][1]
    assert fp.evaluate("value.start", period_ext, type="Extension") == ["2025-04-08"]
    assert fp.evaluate("value.ofType(Period).exists()", period_ext, type="Extension") == [True]
    assert fp.evaluate("value.ofType(string).exists()", period_ext, type="Extension") == [False]


def test_primitive_with_extensions_is_one_node(fp, ror_examples):
    location = ror_examples["Location"]  # address.line has both `line` and `_line`
    assert fp.evaluate("address.line.count()", location) == [1]
    assert fp.evaluate("address.line.hasValue()", location) == [True]
    assert fp.evaluate("address.line.extension.count()", location) == [3]
    assert fp.evaluate("address.line.extension('http://hl7.org/fhir/StructureDefinition/"
                       "iso21090-ADXP-houseNumber').value", location) == ["7"]
    assert fp.evaluate("address.line", location) == ["7 rue porte de Buc"]


def test_leading_type_name_selects_the_focus(fp, ror_examples):
    assert fp.evaluate("Location.address.city", ror_examples["Location"]) == ["Versailles"]
    assert fp.evaluate("Patient.address.city", ror_examples["Location"]) == []


def test_resource_and_root_resource_are_bound(fp):
    org = {"resourceType": "Organization", "id": "inner", "name": "Org"}
    location = {"resourceType": "Location", "id": "outer", "contained": [org],
                "managingOrganization": {"reference": "#inner"}}
    assert fp.evaluate("%resource.id | %rootResource.id", org["name"], type="string",
                       resource=org, root=location) == ["inner", "outer"]
    assert fp.evaluate("%context", "Org", type="string", resource=org) == ["Org"]
    with pytest.raises(NotEvaluable, match="resource") as exc:
        fp.evaluate("%resource.id", "Org", type="string")
    assert exc.value.phase == "evaluate"


def test_resolve_needs_a_resolver():
    targets = {"Organization/1": {"resourceType": "Organization", "id": "1", "name": "Target"}}
    engine = FhirPath(resolver=targets.get)
    location = {"resourceType": "Location", "contained": [{"resourceType": "Organization", "id": "c", "name": "C"}],
                "managingOrganization": {"reference": "Organization/1"}, "partOf": {"reference": "#c"}}
    assert engine.evaluate("managingOrganization.resolve().name", location) == ["Target"]
    assert engine.evaluate("partOf.resolve().name", location) == ["C"]
    assert engine.evaluate("managingOrganization.resolve() is Organization", location) == [True]
    with pytest.raises(NotEvaluable, match="resolver"):
        FhirPath().evaluate("managingOrganization.resolve()", location)


# --- the functions we add or replace, both ways ------------------------------------------------


@pytest.mark.parametrize("node, type_, extras, expected", [
    ("2025-04-08", "date", None, True),
    (False, "boolean", None, True),  # false is a value
    ({"extension": [{"url": "u", "valueString": "v"}]}, "string", None, False),  # extension only
    ({"start": "2025-04-08"}, "Period", None, False),  # not a primitive
    ("x", "string", {"extension": [{"url": "u", "valueString": "v"}]}, True),
])
def test_has_value(fp, node, type_, extras, expected):
    assert fp.evaluate("hasValue()", node, type=type_, primitive_extras=extras) == [expected]


def test_has_value_of_nothing_is_false(fp):
    assert fp.evaluate("end.hasValue()", {"start": "2025-04-08"}, type="Period") == [False]


@pytest.mark.parametrize("div, expected", [
    ('<div xmlns="http://www.w3.org/1999/xhtml"><p>Unité <b>MCO</b>&nbsp;ouverte</p></div>', True),
    ('<div xmlns="http://www.w3.org/1999/xhtml"><img src="logo.png"/></div>', True),
    ('<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script>x</div>', False),  # txt-1
    ('<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">x</p></div>', False),  # txt-1
    ('<div xmlns="http://www.w3.org/1999/xhtml">  <p> </p> </div>', False),  # txt-2
    ('<div xmlns="http://www.w3.org/1999/xhtml"><p>not closed</div>', False),  # not XML
])
def test_html_checks(fp, div, expected):
    assert fp.check_invariant("htmlChecks()", div, type="xhtml") is expected


def test_extension_returns_every_match(fp):
    launch = {"url": "launchContext", "extension": [
        {"url": "name", "valueCoding": {"code": "ror-structure"}},
        {"url": "type", "valueCode": "Location"}, {"url": "type", "valueCode": "Patient"}]}
    assert fp.evaluate("extension('type').value", launch, type="Extension") == ["Location", "Patient"]


def test_as_function_filters_but_as_operator_stays_strict(fp):
    q = {"resourceType": "Questionnaire", "url": "http://a", "derivedFrom": ["http://b", "http://c"]}
    assert fp.evaluate("descendants().as(canonical)", q) == ["http://b", "http://c"]
    assert fp.evaluate("derivedFrom.first() as canonical", q) == ["http://b"]
    with pytest.raises(NotEvaluable, match="singleton"):
        fp.evaluate("derivedFrom as canonical", q)


def test_trace_returns_its_input_and_prints_nothing(fp, capsys, caplog):
    caplog.set_level("DEBUG", logger="harness.fhir.fhirpath")
    assert fp.evaluate("name.trace('n', length()).count()", {"resourceType": "Location", "name": "abc"}) == [1]
    assert capsys.readouterr().out == ""
    assert "FHIRPath trace n: [3]" in caplog.text


def test_dates_compare_as_dates_not_strings(fp):
    # 10:00+02:00 is 08:00Z, before 09:30Z; as strings, "2020-01-01T10" > "2020-01-01T09"
    period = {"start": "2020-01-01T10:00:00+02:00", "end": "2020-01-01T09:30:00Z"}
    assert fp.evaluate("start <= end", period, type="Period") == [True]
    assert fp.evaluate("start < @2019-06-01", period, type="Period") == [False]
    assert fp.evaluate("start <= end", {"start": "2020", "end": "2020-06"}, type="Period") == []  # precision


# --- real invariants, passing and broken -------------------------------------------------------

PER_1 = "start.hasValue().not() or end.hasValue().not() or (start <= end)"
EXT_1 = "extension.exists() != value.exists()"
ELE_1 = "hasValue() or (children().count() > id.count())"
DOM_2 = "contained.contained.empty()"
DOM_3 = ("contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) "
         "| %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = "
         "'#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) "
         "= '#').exists()).not()).trace('unmatched', id).empty()")
RNG_2 = "low.empty() or high.empty() or (low <= high)"
REF_1 = ("reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
         "%rootResource.contained.id.trace('ids'))")
ROR_INV_1 = ("(extension('name').value.where(code='ror-structure' and system='http://hl7.org/fhir/uv/sdc/"
             "CodeSystem/launchContext').exists() implies extension('type').all(value='Location' or "
             "value='HealthcareService' or value='Organization'))")
ROR_VERSION = "value.toString().contains('|')"


def test_per_1(fp, hs):
    open_ended = hs["availableTime"][0]["extension"][1]["valuePeriod"]
    assert fp.check_invariant(PER_1, open_ended, type="Period", resource=hs) is True
    assert fp.check_invariant(PER_1, {"start": "2025-04-08", "end": "2024-01-01"}, type="Period") is False


def test_ext_1_on_an_extension_inside_a_resource(fp, hs):
    contact = _extension(hs, ROR_URL + "ror-healthcareservice-contact")  # complex: sub-extensions only
    assert fp.check_invariant(EXT_1, contact, type="Extension", resource=hs) is True
    contact["valueString"] = "both"
    assert fp.check_invariant(EXT_1, contact, type="Extension", resource=hs) is False


def test_ele_1(fp, hs):
    assert fp.check_invariant(ELE_1, hs["identifier"][0], type="Identifier", resource=hs) is True
    assert fp.check_invariant(ELE_1, {"id": "only-an-id"}, type="Identifier", resource=hs) is False


def test_dom_2_and_dom_3_on_contained(fp):
    org = {"resourceType": "Organization", "id": "org", "name": "Gestionnaire"}
    location = {"resourceType": "Location", "contained": [org], "managingOrganization": {"reference": "#org"}}
    assert fp.check_invariant(DOM_3, location) is True
    assert fp.check_invariant(DOM_2, location) is True
    orphan = {**location, "managingOrganization": {"reference": "Organization/1"}}
    assert fp.check_invariant(DOM_3, orphan) is False
    nested = {**location, "contained": [{**org, "contained": [{"resourceType": "Endpoint", "id": "e"}]}]}
    assert fp.check_invariant(DOM_2, nested) is False


def test_rng_2_on_the_ror_age_range(fp, hs):
    age_range = _extension(hs, ROR_URL + "ror-healthcareservice-patient-type")["extension"][0]["valueRange"]
    assert fp.check_invariant(RNG_2, age_range, type="Range", resource=hs) is True  # 15 a <= 150 a
    swapped = {"low": age_range["high"], "high": age_range["low"]}
    assert fp.check_invariant(RNG_2, swapped, type="Range") is False
    months = {"low": age_range["low"], "high": {**age_range["high"], "code": "mo"}}
    with pytest.raises(NotEvaluable, match="no unit conversion"):
        fp.check_invariant(RNG_2, months, type="Range")


def test_ref_1_is_corrected_for_logical_references(fp, ror_examples):
    task = ror_examples["Task"]  # focus: type + identifier, no reference
    assert fp.check_invariant(REF_1, task["focus"], type="Reference", resource=task) is True
    assert fp.evaluate(REF_1, task["focus"], type="Reference", resource=task) == []  # as published: empty
    assert fp.check_invariant(REF_1, {"reference": "#absent"}, type="Reference", resource=task) is False
    assert "FHIR-37793" in correction_for(REF_1).reason


def test_que_7_is_corrected_to_the_fhir_boolean(fp):
    que_7 = "operator = 'exists' implies (answer is Boolean)"
    when = {"question": "q1", "operator": "exists", "answerBoolean": True}
    assert fp.check_invariant(que_7, when, type="Questionnaire.item.enableWhen") is True
    as_text = {"question": "q1", "operator": "exists", "answerString": "x"}
    assert fp.check_invariant(que_7, as_text, type="Questionnaire.item.enableWhen") is False


def test_ror_inv_1_launch_context(fp, ror_examples):
    launch = copy.deepcopy(ror_examples["Questionnaire"]["extension"][0])
    assert fp.check_invariant(ROR_INV_1, launch, type="Extension") is True  # the example's name system differs
    launch["extension"][0]["valueCoding"]["system"] = "http://hl7.org/fhir/uv/sdc/CodeSystem/launchContext"
    assert fp.check_invariant(ROR_INV_1, launch, type="Extension") is True  # type HealthcareService
    launch["extension"].append({"url": "type", "valueCode": "Patient"})  # the second `type` is wrong
    assert fp.check_invariant(ROR_INV_1, launch, type="Extension") is False


def test_ror_questionnaire_version_required(fp, hs):
    template = _extension(hs, ROR_URL + "ror-meta-questionnaire-used-as-a-template")
    canonical = template["valueCanonical"]  # ".../Questionnaire/MS-141|1"
    assert fp.check_invariant(ROR_VERSION, canonical, type="canonical", resource=hs) is True
    unversioned = canonical.partition("|")[0]
    assert fp.check_invariant(ROR_VERSION, unversioned, type="canonical", resource=hs) is False


# --- reading a result as an invariant verdict --------------------------------------------------


def test_invariant_verdicts_empty_singleton_and_many(fp, hs):
    assert fp.check_invariant("name.where(false)", hs) is False  # empty fails
    assert fp.check_invariant("name", hs) is True  # a single non-boolean item is true
    with pytest.raises(NotEvaluable, match="items") as exc:
        fp.check_invariant("availableTime", hs)
    assert exc.value.phase == "evaluate"


def test_and_or_use_singleton_evaluation_of_non_boolean_operands():
    """FHIRPath: a single non-Boolean item counts as true in `and` / `or` (the IG's capacity PATCH
    paths rely on it); empty stays unknown."""
    engine = FhirPath()
    res = {"resourceType": "Location", "extension": [{"url": "a", "valueString": "x"}, {"url": "b", "valueString": "y"}]}
    both = "extension.where(url='a') and extension.where(url='b')"
    assert engine.evaluate(both, res) == [True]
    assert engine.evaluate("extension.where(url='a') and extension.where(url='z')", res) == []
    assert engine.evaluate("extension.where(url='z') or extension.where(url='a')", res) == [True]
    assert engine.evaluate("true and false", res) == [False]
    assert engine.evaluate(f"extension.where({both.replace('extension.', 'url.')}).exists()", res) == [False]
