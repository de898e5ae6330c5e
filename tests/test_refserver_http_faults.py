"""One test per named fault: the clean server behaves right, the faulty one deviates, and the
deviation is the one the fault names. Each probe reads one observable over real HTTP."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from harness.fhir.validation import Validator
from harness.refserver.config import SecurityConfig
from harness.refserver.faults import FAULTS, unknown_faults
from harness.refserver.runner import RunningServer
from refserver_http_support import PUBLIC, ROR_HEADERS, client, make_pki, seed_db, start  # noqa: F401
from test_refserver_http_patch import indicator, operation, params, where

KEY = b"fault-tests-token-key-0123456789"
JSON = {"Content-Type": "application/fhir+json"}


@dataclass
class Probe:
    server: RunningServer
    api: httpx.Client
    facts: dict

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.api.get(url, **kwargs)

    def bundle(self, url: str, **kwargs: Any) -> dict:
        answer = self.get(url, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()


def _matches(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _walk(p: Probe, url: str, limit: int = 60) -> tuple[list[str], int, bool]:
    """(matched ids, first total, ended by itself) following next links at most `limit` times."""
    ids, total = [], None
    for _ in range(limit):
        bundle = p.bundle(url)
        total = bundle.get("total") if total is None else total
        ids += _matches(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        if url is None:
            return ids, total, True
    return ids, total, False


def _expired_token() -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    body = b64(orjson.dumps({"client_id": "ror-harness", "exp": int(time.time()) - 60, "ror_profile": 1,
                             "scope": "system/*.read system/*.write"}))
    return f"{head}.{body}.{b64(hmac.new(KEY, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


def _capacity(p: Probe, body: dict) -> int:
    with client(p.server, ror_headers=False) as bare:
        return bare.patch("/Location", params={"identifier": p.facts["synchro"]}, json=body, headers=JSON).status_code


def _multiple(p: Probe) -> int:
    copy_of = {k: v for k, v in p.facts["location"].items() if k not in ("id", "meta")}
    assert p.api.post("/Location", json=copy_of, headers=JSON).status_code == 201
    return _capacity(p, params(operation("delete", where(indicator()))))


def _most_capacity(location: dict) -> int:
    """The largest nbCapacity of a Location's indicators (`gt` it matches nothing, `ge` it does)."""
    return max(sub["valueInteger"] for x in location["extension"] if x["url"].endswith("supported-capacity")
               for sub in x["extension"] if sub["url"] == "nbCapacity")


def _public_read(p: Probe) -> int:
    with client(p.server, PUBLIC) as public:
        return public.get(f"/HealthcareService/{p.facts['sensitive']}").status_code


def _public_write(p: Probe) -> int:
    """A write with the read-only (profile 0) client: an Organization copy, so nothing else changes."""
    with client(p.server, PUBLIC) as public:
        body = {k: v for k, v in p.facts["org"].items() if k not in ("id", "meta")}
        return public.post("/Organization", json=body, headers=JSON).status_code


def _invalid_create(p: Probe) -> int:
    """An Organization whose name is not a string: the IG profiles (FHIR itself) refuse it."""
    body = {**{k: v for k, v in p.facts["org"].items() if k not in ("id", "meta")}, "name": {"text": "pas une chaîne"}}
    return p.api.post("/Organization", json=body, headers=JSON).status_code


def _declared_params(p: Probe) -> bool:
    return sum(len(r.get("searchParam", [])) for r in p.bundle("/metadata")["rest"][0]["resource"]) > 0


def _validates(p: Probe, path: str) -> bool:
    return Validator().validate(p.get(path).json()).ok


def _no_client_cert(p: Probe) -> int | str:
    try:
        return httpx.get(f"{p.server.base_url}/metadata", verify=p.facts["ca_only"]).status_code
    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
        return "refused"


def _link(bundle: dict, relation: str) -> str | None:
    return next((link["url"] for link in bundle.get("link", []) if link["relation"] == relation), None)


def _previous_is_page_one(p: Probe) -> bool:
    first = p.bundle("/Organization?_count=5")
    second = p.bundle(_link(first, "next"))
    return _matches(p.bundle(_link(second, "previous"))) == _matches(first)


def _above_reaches_deeper(p: Probe) -> bool:
    """HealthcareService?organization:above._id=<a legal entity> finds services of its establishments."""
    orgs = [e["resource"] for e in p.bundle("/Organization?_count=200")["entry"]]
    top = next(o["id"] for o in orgs if "partOf" not in o and any(x.get("partOf", {}).get("reference") == f"Organization/{o['id']}"
                                                                     for x in orgs))
    above = p.bundle("/HealthcareService", params={"organization:above._id": top})["total"]
    return above > p.bundle("/HealthcareService", params={"organization._id": top})["total"]


def _parent_readable(p: Probe) -> int:
    child = next(e["resource"] for e in p.bundle("/Organization?_count=200")["entry"] if "partOf" in e["resource"])
    return p.get(f"/{child['partOf']['reference']}").status_code


def _export(p: Probe, params: dict[str, str]) -> list[dict]:
    """Every resource of a finished $export (kick-off, polling, files)."""
    kickoff = p.get("/$export", params=params, headers={"Prefer": "respond-async"})
    assert kickoff.status_code == 202, kickoff.text
    status = p.get(kickoff.headers["content-location"])
    for _ in range(300):
        if status.status_code != 202:
            break
        time.sleep(0.1)
        status = p.get(kickoff.headers["content-location"])
    assert status.status_code == 200, status.text
    return [orjson.loads(line) for out in status.json()["output"] for line in p.get(out["url"]).text.splitlines() if line]


def _region_filter(p: Probe) -> bool:
    tag = p.bundle("/HealthcareService?_count=1")["entry"][0]["resource"]["meta"]["tag"][0]
    exported = _export(p, {"_type": "HealthcareService",
                           "_typeFilter": f"HealthcareService?_tag={tag['system']}|{tag['code']}"})
    return all(r["meta"]["tag"][0]["code"] == tag["code"] for r in exported)


def _since(p: Probe) -> bool:
    since = p.facts["org"]["meta"]["lastUpdated"]
    exported = _export(p, {"_type": "Organization", "_since": since})
    return bool(exported) and all(r["meta"]["lastUpdated"] > since for r in exported)


#: fault -> (probe, value on the clean server); the faulty server must give another value.
CASES: dict[str, tuple[Callable[[Probe], Any], Any]] = {
    "bundle-type-collection": (lambda p: p.bundle("/Task")["type"], "searchset"),
    "bundle-no-total": (lambda p: "total" in p.bundle("/Task"), True),
    "bundle-no-self-link": (lambda p: [link["relation"] for link in p.bundle("/Task")["link"]], ["self"]),
    "entry-no-fullurl": (lambda p: all("fullUrl" in e for e in p.bundle("/Task")["entry"]), True),
    "include-as-match": (lambda p: sorted({e["search"]["mode"] for e in p.bundle(
        "/HealthcareService?_count=2&_include=HealthcareService:organization")["entry"]}), ["include", "match"]),
    "paging-duplicates": (lambda p: (lambda ids: len(ids) == len(set(ids)))(_walk(p, "/HealthcareService?_count=10")[0]),
                          True),
    "paging-broken-next": (lambda p: p.get(next(link["url"] for link in p.bundle("/HealthcareService?_count=10")["link"]
                                                if link["relation"] == "next")).status_code, 200),
    "paging-wrong-total": (lambda p: (lambda w: len(w[0]) == w[1])(_walk(p, "/Organization?_count=25")), True),
    "paging-cyclic-next": (lambda p: _walk(p, "/Organization?_count=25")[2], True),
    "paging-count-ignored": (lambda p: len(_matches(p.bundle("/Organization?_count=3"))), 3),
    "paging-default-size": (lambda p: (lambda b: len(_matches(b)) == min(200, b["total"]) > 50)(
        p.bundle("/Organization")), True),
    "paging-skips": (lambda p: (lambda w: len(set(w[0])) == w[1])(_walk(p, "/Organization?_count=25")), True),
    "paging-previous-wrong": (_previous_is_page_one, True),
    "total-counts-includes": (lambda p: p.bundle("/HealthcareService?_count=2&_include=HealthcareService:organization"
                                                 )["total"] == p.bundle("/HealthcareService?_count=2")["total"], True),
    "token-param-ignored": (lambda p: p.bundle("/HealthcareService", params={"characteristic": p.facts["characteristic"]}
                                               )["total"] < p.bundle("/HealthcareService")["total"], True),
    "date-off-by-one": (lambda p: p.facts["org"]["id"] in _matches(p.bundle(
        "/Organization", params={"_lastUpdated": f"eq{p.facts['day']}", "_count": "1000"})), True),
    "string-case-sensitive": (lambda p: p.facts["org"]["id"] in _matches(p.bundle(
        "/Organization", params={"name": p.facts["org"]["name"][:6].lower(), "_count": "1000"})), True),
    "string-exact-only": (lambda p: p.facts["org"]["id"] in _matches(p.bundle(
        "/Organization", params={"name": p.facts["org"]["name"][:6], "_count": "1000"})), True),
    "exact-modifier-ignored": (lambda p: p.facts["org"]["id"] in _matches(p.bundle(
        "/Organization", params={"name:exact": p.facts["org"]["name"].lower(), "_count": "1000"})), False),
    "number-prefix-inclusive": (lambda p: p.bundle("/Location", params={
        "_id": p.facts["location"]["id"], "nb-capacity": f"gt{_most_capacity(p.facts['location'])}"})["total"], 0),
    "not-modifier-ignored": (lambda p: p.facts["org"]["id"] in _matches(p.bundle(
        "/Organization", params={"_id:not": p.facts["org"]["id"], "_count": "1000"})), False),
    "chain-ignored": (lambda p: p.bundle("/HealthcareService", params={"organization.name": "zzz-nothing"})["total"], 0),
    "unknown-param-silent": (lambda p: p.get("/Task?bogus=1", headers={"Prefer": "handling=strict"}).status_code, 400),
    "includes-missing": (lambda p: any(e["search"]["mode"] == "include" for e in p.bundle(
        "/HealthcareService?_count=2&_include=HealthcareService:organization")["entry"]), True),
    "include-iterate-ignored": (lambda p: len(p.bundle(
        "/HealthcareService?_count=5&_include=HealthcareService:organization&_include:iterate=Organization:partof")["entry"])
        > len(p.bundle("/HealthcareService?_count=5&_include=HealthcareService:organization")["entry"]), True),
    "chain-above-ignored": (_above_reaches_deeper, True),
    "no-match-404": (lambda p: p.get("/HealthcareService?_id=no-such-service").status_code, 200),
    "date-gt-includes-boundary": (lambda p: p.facts["org"]["id"] in _matches(p.bundle("/Organization", params={
        "_lastUpdated": f"gt{p.facts['org']['meta']['lastUpdated']}", "_count": "1000"})), False),
    "date-ge-excludes-boundary": (lambda p: p.facts["org"]["id"] in _matches(p.bundle("/Organization", params={
        "_lastUpdated": f"ge{p.facts['org']['meta']['lastUpdated']}", "_count": "1000"})), True),
    "near-distance-missing": (lambda p: all("extension" in e["search"] for e in p.bundle(
        "/Location", params={"near-insee-code": f"{p.facts['commune']}|30|km"})["entry"]), True),
    "meta-lastupdated-missing": (lambda p: "lastUpdated" in p.get(f"/Organization/{p.facts['org']['id']}").json()["meta"],
                                 True),
    "partof-dangling": (_parent_readable, 200),
    "unknown-element": (lambda p: _validates(p, f"/Organization/{p.facts['org']['id']}"), True),
    "code-outside-valueset": (lambda p: _validates(p, f"/Location/{p.facts['location']['id']}"), True),
    "accept-missing-token": (lambda p: httpx.get(f"{p.server.base_url}/Task", headers=ROR_HEADERS).status_code, 401),
    "accept-expired-token": (lambda p: httpx.get(f"{p.server.base_url}/Task", headers={
        **ROR_HEADERS, "Authorization": f"Bearer {_expired_token()}"}).status_code, 401),
    "ignore-client-cert": (_no_client_cert, "refused"),
    "ignore-ror-headers": (lambda p: httpx.get(f"{p.server.base_url}/Task", headers={
        "Authorization": p.api.headers["authorization"]}).status_code, 400),
    "profile0-sees-sensitive": (_public_read, 404),
    "write-scope-unchecked": (_public_write, 403),
    "capability-no-search-params": (_declared_params, True),
    "write-unvalidated": (_invalid_create, 422),
    "patch-replace-creates": (lambda p: _capacity(p, params(operation(
        "replace", where(indicator()), value={"valueExtension": indicator(3)}))), 404),
    "patch-multiple-first": (_multiple, 412),
    "capacity-combination-unchecked": (lambda p: _capacity(p, params(operation(
        "add", "Location", name={"valueString": "extension"},
        value={"valueExtension": indicator(capacityClosingType="01")}))), 400),
    "if-match-ignored": (lambda p: p.api.put(f"/Organization/{p.facts['org']['id']}", json=p.facts["org"],
                                             headers={**JSON, "If-Match": 'W/"999"'}).status_code, 412),
    "etag-missing": (lambda p: "etag" in p.get(f"/Organization/{p.facts['org']['id']}").headers, True),
    "error-not-outcome": (lambda p: p.get("/Organization/nope").headers["content-type"].split(";")[0],
                          "application/fhir+json"),
    "wrong-content-type": (lambda p: p.get("/Task").headers["content-type"].split(";")[0], "application/fhir+json"),
    "xml-not-406": (lambda p: p.get("/Task", headers={"Accept": "application/fhir+xml"}).status_code, 406),
    "create-200": (lambda p: p.api.post("/Organization", json={k: v for k, v in p.facts["org"].items()
                                                                if k not in ("id", "meta")}, headers=JSON).status_code, 201),
    "export-no-content-location": (lambda p: "content-location" in p.get(
        "/$export", params={"_type": "Task"}, headers={"Prefer": "respond-async"}).headers, True),
    "export-associated-missing": (lambda p: sorted({r["resourceType"] for r in _export(p, {
        "_type": "HealthcareService", "includeAssociatedData": "_myCompleteExtract"})}),
        ["HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole"]),
    "export-typefilter-ignored": (_region_filter, True),
    "export-since-ignored": (_since, True),
}


def test_every_fault_has_a_test():
    assert set(CASES) == set(FAULTS)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("fault-pki"))


def _security(fault: str, pki) -> SecurityConfig:
    if fault == "ignore-client-cert":
        return pki.security(require_client_cert=True, token_key=KEY)
    return SecurityConfig(token_key=KEY)


def _facts(api: httpx.Client, pki) -> dict:
    org = next(o for o in (e["resource"] for e in api.get("/Organization", params={"_count": "100"}).json()["entry"])
               if o.get("name", "")[:1].isupper() and o["name"][:6].lower() != o["name"][:6])
    services = [e["resource"] for e in api.get("/HealthcareService", params={"_count": "500"}).json()["entry"]]
    coding = services[0]["characteristic"][0]["coding"][0]
    sensitive = next(s["id"] for s in services if any(
        x["url"].endswith("sensitive-unit") and x.get("valueBoolean") for x in s.get("extension", [])))
    location = next(e["resource"] for e in api.get("/Location", params={"_count": "200"}).json()["entry"]
                    if any(x["url"].endswith("supported-capacity") for x in e["resource"].get("extension", []))
                    and indicator() not in e["resource"]["extension"])
    commune = next(x for x in location["extension"] if x["url"].endswith("ror-commune-cog"))
    return {"org": org, "day": org["meta"].get("lastUpdated", "")[:10], "characteristic": f"{coding['system']}|{coding['code']}",
            "sensitive": sensitive, "location": location,
            "synchro": [i["value"] for i in location["identifier"] if "/" in i["value"]][-1],
            "commune": commune["valueCodeableConcept"]["coding"][0]["code"],
            "ca_only": ssl.create_default_context(cafile=str(pki.ca))}


def _probe(seed_db, folder, fault: str | None, security: SecurityConfig, pki, run: Callable[[Probe], Any]) -> Any:
    server = start(seed_db, folder, faults=frozenset({fault} if fault else ()), security=security)
    try:
        options = {}
        if security.tls:
            context = ssl.create_default_context(cafile=str(pki.ca))
            context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
            options["verify"] = context
        with client(server, **options) as api:
            probe = Probe(server, api, _facts(api, pki))
            return run(probe)
    finally:
        server.stop()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_changes_the_behaviour_it_names(seed_db, tmp_path, pki, fault):
    run, expected = CASES[fault]
    security = _security(fault, pki)
    clean = _probe(seed_db, tmp_path / "clean", None, security, pki, run)
    faulty = _probe(seed_db, tmp_path / "faulty", fault, security, pki, run)
    assert clean == expected, f"the clean server should give {expected!r}, gave {clean!r}"
    assert faulty != clean, f"{fault}: the faulty server behaves like the clean one ({faulty!r})"



def test_the_ignore_param_family_drops_exactly_its_parameter(seed_db, tmp_path, pki):
    """`ignore-param:<code>` is a fault per search parameter: that one is ignored, the others not."""
    def run(p: Probe) -> tuple[int, int]:
        one = p.bundle("/Organization", params={"name": p.facts["org"]["name"][:6], "_count": "1000"})["total"]
        other = p.bundle("/Organization", params={"_id": p.facts["org"]["id"]})["total"]
        return one, other
    security = _security("", pki)
    clean = _probe(seed_db, tmp_path / "clean", None, security, pki, run)
    faulty = _probe(seed_db, tmp_path / "faulty", "ignore-param:name", security, pki, run)
    assert faulty[0] > clean[0] and faulty[1] == clean[1] == 1
    assert unknown_faults(["ignore-param:name", "ignore-param:", "nonsense"]) == {"ignore-param:", "nonsense"}
