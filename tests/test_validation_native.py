"""The natively evaluated invariants give the verdict of their FHIRPath expression, both ways."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.fhir.fhirpath import default_engine
from harness.fhir.validation.native import NATIVE, native_verdict

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "ror-0.7.0"


def _cases() -> list[dict]:
    loc = json.loads((EXAMPLES / "Location-ror-location-exemple.json").read_text())
    with_text = dict(loc, text={"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"})
    orphan = dict(loc, contained=[{"resourceType": "Organization", "id": "o", "meta": {"versionId": "1"},
                                   "contained": [{"resourceType": "Organization", "id": "p"}]}])
    referenced = dict(loc, contained=[{"resourceType": "Organization", "id": "o"}],
                      managingOrganization={"reference": "#o"})
    return [loc, with_text, orphan, referenced]


@pytest.mark.parametrize("key", sorted(NATIVE))
@pytest.mark.parametrize("case", range(4))
def test_native_matches_fhirpath(key, case):
    resource = _cases()[case]
    expression = NATIVE[key][0]
    native = native_verdict(key, expression, resource)
    fhirpath = default_engine().check_invariant(expression, resource, resource=resource, root=resource)
    if native is not None:
        assert native == fhirpath
    else:
        assert "contained" in resource  # only the contained cases are left to FHIRPath


def test_both_verdicts_occur():
    verdicts = {default_engine().check_invariant(NATIVE["dom-6"][0], r, resource=r) for r in _cases()}
    assert verdicts == {True, False}
    assert native_verdict("dom-2", "something else", {}) is None  # a redefined key is not shortcut
