"""The reference server over real HTTP (uvicorn on loopback, SQLite file): every route both ways,
the searchset Bundle, content negotiation, writes and versions, $export, the serve command."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from harness.refserver.faults import FAULTS
from refserver_http_support import PUBLIC, client, first, outcome_codes, seed_db, start  # noqa: F401


@pytest.fixture(scope="module")
def server(seed_db, tmp_path_factory):
    running = start(seed_db, tmp_path_factory.mktemp("http"), export_min_seconds=0.5, export_file_size=20)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(server):
    with client(server) as http:
        yield http


# -- metadata -------------------------------------------------------------------------------------


def test_metadata_is_public_and_lists_only_what_runs(server):
    answer = httpx.get(f"{server.base_url}/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    cs = answer.json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["kind"] == "instance"
    rest = cs["rest"][0]
    assert f"POST {server.base_url}/token" in rest["security"]["description"]
    assert "extension" not in rest["security"]  # no SMART oauth-uris: it needs an authorize endpoint
    types = {r["type"]: r for r in rest["resource"]}
    assert set(types) == {"Location", "HealthcareService", "Organization", "Practitioner", "PractitionerRole", "Task"}
    assert {i["code"] for i in types["Practitioner"]["interaction"]} == {"read", "vread", "search-type", "create",
                                                                         "update"}
    registry = server.state.store.registry
    for rtype, resource in types.items():
        for param in resource["searchParam"]:
            assert param["name"] in ("_has", "_filter") or registry.get(rtype, param["name"]), (rtype, param["name"])
    assert {"_has", "_filter"} <= {p["name"] for p in types["HealthcareService"]["searchParam"]}
    assert "_content" in types["Organization"].get("documentation", "")  # listed by the IG, not implemented


# -- read / vread ---------------------------------------------------------------------------------


def test_read_known_resource_has_version_headers(api):
    answer = api.get("/Organization", params={"_count": "1"})
    org = answer.json()["entry"][0]["resource"]
    read = api.get(f"/Organization/{org['id']}")
    assert read.status_code == 200
    assert read.json()["id"] == org["id"]
    assert read.headers["etag"] == f'W/"{org["meta"]["versionId"]}"'
    assert read.headers["last-modified"].endswith("GMT")
    version = api.get(f"/Organization/{org['id']}/_history/{org['meta']['versionId']}")
    assert version.status_code == 200 and version.json()["id"] == org["id"]


@pytest.mark.parametrize("path, code", [
    ("/Organization/does-not-exist", "not-found"),
    ("/Organization/hs-1/_history/99", "not-found"),
    ("/Measure/1", "not-supported"),
    ("/NotAType", "not-supported"),
    ("/a/b/c/d/e", "not-found"),
])
def test_unknown_things_are_404_operation_outcomes(api, path, code):
    answer = api.get(path)
    assert answer.status_code == 404
    assert outcome_codes(answer) == [code]


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/Location/x", "GET, PATCH"),
    ("DELETE", "/Organization/x", "GET, PUT, PATCH"),
    ("PATCH", "/Practitioner/x", "GET, PUT"),
    ("PATCH", "/Organization", "GET, POST"),
])
def test_interactions_outside_the_capability_statement_are_405(api, method, path, allowed):
    answer = api.request(method, path, json={"resourceType": "Location"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert outcome_codes(answer) == ["not-supported"]


# -- content negotiation and bodies ---------------------------------------------------------------


@pytest.mark.parametrize("accept, fmt, status", [
    ("application/fhir+json", None, 200), ("application/json", None, 200), ("*/*", None, 200),
    ("application/fhir+xml", None, 406), ("text/html", None, 406), (None, "xml", 406), (None, "json", 200),
    ("application/fhir+xml", "json", 200),
])
def test_content_negotiation(api, accept, fmt, status):
    headers = {"Accept": accept} if accept else {}
    params = {"_format": fmt} if fmt else {}
    answer = api.get("/Task", headers=headers, params=params)
    assert answer.status_code == status
    if status == 406:
        assert outcome_codes(answer) == ["not-supported"]


def test_request_bodies_are_checked(api, server):
    assert api.post("/Organization", content=b"<Organization/>", headers={"Content-Type": "application/fhir+xml"}
                    ).status_code == 415
    broken = api.post("/Organization", content=b'{"resourceType": "Organization",\n "name": }',
                      headers={"Content-Type": "application/fhir+json"})
    assert broken.status_code == 400 and "line 2" in broken.json()["issue"][0]["diagnostics"]
    wrong = api.post("/Organization", json={"resourceType": "Location"},
                     headers={"Content-Type": "application/fhir+json"})
    assert wrong.status_code == 400 and outcome_codes(wrong) == ["invalid"]
    huge = b'{"resourceType": "Organization", "name": "' + b"x" * server.config.max_body_bytes + b'"}'
    too_big = api.post("/Organization", content=huge, headers={"Content-Type": "application/fhir+json"})
    assert too_big.status_code == 413 and outcome_codes(too_big) == ["too-costly"]


# -- search ---------------------------------------------------------------------------------------


def test_searchset_bundle_shape(api, server):
    bundle = api.get("/HealthcareService", params={"_count": "5", "_include": "HealthcareService:organization"}).json()
    assert bundle["type"] == "searchset" and bundle["total"] > 5
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["self"] == f"{server.base_url}/HealthcareService?_count=5&_include=HealthcareService:organization"
    assert "next" in links and "previous" not in links
    modes = [e["search"]["mode"] for e in bundle["entry"]]
    assert modes[:5] == ["match"] * 5 and set(modes[5:]) == {"include"}
    assert all(e["fullUrl"] == f"{server.base_url}/{e['resource']['resourceType']}/{e['resource']['id']}"
               for e in bundle["entry"])
    empty = api.get("/Organization", params={"name": "zzzz-no-such-name"}).json()
    assert empty["total"] == 0 and "entry" not in empty


def test_post_search_equals_get_search(api):
    by_get = api.get("/Location", params={"address-postalcode": "49"}).json()
    by_post = api.post("/Location/_search", data={"address-postalcode": "49"}).json()
    assert by_get["total"] == by_post["total"] > 0
    assert [e["resource"]["id"] for e in by_get["entry"]] == [e["resource"]["id"] for e in by_post["entry"]]
    assert api.post("/Location/_search", json={"x": 1}).status_code == 415


def test_ig_st1_s3_both_forms_give_the_same_bundle(api):
    ids = [e["resource"]["id"] for e in api.get("/Location", params={"_count": "2"}).json()["entry"]]
    by_list = api.get("/Location", params={"_id": ",".join(ids), "_revinclude": "HealthcareService:location"}).json()
    by_filter = api.get("/Location", params={"_filter": f"(_id eq {ids[0]} or {ids[1]})",
                                             "_revinclude": "HealthcareService:location"}).json()
    assert by_list["total"] == by_filter["total"] == 2
    assert [e["resource"]["id"] for e in by_list["entry"]] == [e["resource"]["id"] for e in by_filter["entry"]]
    assert any(e["search"]["mode"] == "include" for e in by_list["entry"])


def test_paging_walks_every_match_once(api):
    url, seen, total = "/HealthcareService?_count=7", [], None
    while url:
        bundle = api.get(url).json()
        total = bundle["total"] if total is None else total
        assert bundle["total"] == total
        seen += [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == total


def test_unknown_parameters_are_reported_or_refused_under_strict(api):
    lenient = api.get("/Organization", params={"no-such-param": "1"}).json()
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome and "no-such-param" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    strict = api.get("/Organization", params={"no-such-param": "1"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and "not-supported" in outcome_codes(strict)
    assert api.get("/Organization", headers={"Prefer": "handling=strict"}).status_code == 200


def test_an_internal_error_is_a_500_operation_outcome_without_traceback(api, server, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(server.state.searcher, "search", broken)  # nothing else can make the server fail
    answer = api.get("/Task")
    assert answer.status_code == 500 and outcome_codes(answer) == ["exception"]
    assert "secret internal detail" not in answer.text and "Traceback" not in answer.text


def test_bad_search_values_are_400_operation_outcomes(api):
    answer = api.get("/Organization", params={"_count": "many"})
    assert answer.status_code == 400 and outcome_codes(answer) == ["invalid"]


def test_near_insee_code_entries_carry_the_distance(api):
    location = first(api, "/Location?_count=1")
    commune = next(e for e in location["extension"] if e["url"].endswith("ror-commune-cog"))
    code = commune["valueCodeableConcept"]["coding"][0]["code"]
    bundle = api.get("/Location", params={"near-insee-code": f"{code}|30|km"}).json()
    entries = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert any(e["resource"]["id"] == location["id"] for e in entries)
    for entry in entries:
        distance = entry["search"]["extension"][0]
        assert distance["url"] == "http://hl7.org/fhir/StructureDefinition/location-distance"
        assert 0 <= distance["valueDistance"]["value"] <= 30 and distance["valueDistance"]["unit"] == "km"


def test_profile_0_does_not_see_sensitive_units(server, api):
    sensitive = [e["resource"] for e in api.get("/HealthcareService", params={"_count": "500"}).json()["entry"]
                 if any(x["url"].endswith("sensitive-unit") and x.get("valueBoolean") for x in
                        e["resource"].get("extension", []))]
    assert sensitive, "the dataset has sensitive units"
    everything = api.get("/HealthcareService").json()["total"]
    with client(server, PUBLIC) as public:
        assert public.get(f"/HealthcareService/{sensitive[0]['id']}").status_code == 404
        assert api.get(f"/HealthcareService/{sensitive[0]['id']}").status_code == 200
        seen = public.get("/HealthcareService", params={"_count": "500"}).json()
        assert seen["total"] == everything - len(sensitive)
        assert not {s["id"] for s in sensitive} & {e["resource"]["id"] for e in seen["entry"]}
        links = " ".join(link["url"] for link in seen["link"])
        assert sensitive[0]["id"] not in links  # the exclusion never leaks into the links


# -- writes and versions --------------------------------------------------------------------------


def _organization(api) -> dict:
    return first(api, "/Organization?_count=1")


def test_create_answers_201_with_location_and_etag(api, server):
    new = {k: v for k, v in _organization(api).items() if k not in ("id", "meta")}
    new["name"] = "Organisation créée par le test"
    answer = api.post("/Organization", json=new, headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert answer.headers["location"] == f"{server.base_url}/Organization/{created['id']}/_history/1"
    assert answer.headers["etag"] == 'W/"1"' and created["meta"]["versionId"] == "1"
    assert api.get(f"/Organization/{created['id']}").json()["name"] == new["name"]


def test_create_of_an_invalid_resource_is_422_with_the_validator_issues(api):
    answer = api.post("/Organization", json={"resourceType": "Organization", "active": "yes"},
                      headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 422
    assert outcome_codes(answer)[0] == "processing" and len(outcome_codes(answer)) > 1


def test_create_with_a_dangling_reference_is_422(api):
    new = {k: v for k, v in _organization(api).items() if k not in ("id", "meta")}
    new["partOf"] = {"reference": "Organization/no-such-organization"}
    answer = api.post("/Organization", json=new, headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 422 and "does not resolve" in answer.json()["issue"][0]["diagnostics"]


def test_update_versions_and_if_match(api):
    org = api.get(f"/Organization/{_organization(api)['id']}").json()
    version = int(org["meta"]["versionId"])
    org["name"] = "Nom mis à jour"
    headers = {"Content-Type": "application/fhir+json"}
    updated = api.put(f"/Organization/{org['id']}", json=org, headers={**headers, "If-Match": f'W/"{version}"'})
    assert updated.status_code == 200 and updated.headers["etag"] == f'W/"{version + 1}"'
    stale = api.put(f"/Organization/{org['id']}", json=org, headers={**headers, "If-Match": f'W/"{version}"'})
    assert stale.status_code == 412 and outcome_codes(stale) == ["conflict"]
    assert api.put(f"/Organization/{org['id']}", json=org, headers=headers).status_code == 409  # stale meta
    assert api.put("/Organization/other-id", json=org, headers=headers).status_code == 400
    org["id"] = "never-created"
    assert api.put("/Organization/never-created", json=org, headers=headers).status_code == 405


# -- $export --------------------------------------------------------------------------------------


def _poll(api, url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        answer = api.get(url)
        if answer.status_code != 202 or time.monotonic() > deadline:
            return answer
        assert answer.headers["x-progress"]
        time.sleep(0.1)


def test_export_flow_to_the_ndjson_files(api, server):
    kickoff = api.get("/$export", params={"_type": "HealthcareService", "_outputFormat": "application/fhir+ndjson"},
                      headers={"Prefer": "respond-async"})
    assert kickoff.status_code == 202
    status_url = kickoff.headers["content-location"]
    assert status_url.startswith(f"{server.base_url}/$export-poll-status?_jobId=")
    first_poll = api.get(status_url)
    assert first_poll.status_code == 202 and first_poll.headers["x-progress"]
    done = _poll(api, status_url)
    assert done.status_code == 200
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True and manifest["transactionTime"]
    assert {o["type"] for o in manifest["output"]} == {"HealthcareService"}
    lines = []
    for output in manifest["output"]:
        assert output["url"].startswith(server.base_url)
        download = api.get(output["url"])
        assert download.status_code == 200 and download.headers["content-type"].startswith("application/fhir+ndjson")
        rows = [orjson.loads(line) for line in download.content.splitlines()]
        assert len(rows) == output["count"]
        lines += rows
    assert len(manifest["output"]) > 1  # one file per 20 resources
    assert len(lines) == api.get("/HealthcareService", params={"_summary": "count"}).json()["total"]
    assert httpx.get(manifest["output"][0]["url"]).status_code == 401  # requiresAccessToken


def test_export_type_level_with_associated_data_and_since(api):
    kickoff = api.get("/HealthcareService/$export", params={"includeAssociatedData": "_myCompleteExtract",
                                                            "_since": "2100-01-01T00:00:00Z"},
                      headers={"Prefer": "respond-async"})
    manifest = _poll(api, kickoff.headers["content-location"]).json()
    assert manifest["output"] == []  # nothing changed after 2100
    kickoff = api.get("/HealthcareService/$export", params={"includeAssociatedData": "_myCompleteExtract"},
                      headers={"Prefer": "respond-async"})
    manifest = _poll(api, kickoff.headers["content-location"]).json()
    assert {"HealthcareService", "Organization", "Location"} <= {o["type"] for o in manifest["output"]}


def test_export_refusals_and_cancellation(server, api):
    assert api.get("/$export").status_code == 400  # no Prefer: respond-async
    bad = api.get("/$export", params={"_outputFormat": "text/csv"}, headers={"Prefer": "respond-async"})
    assert bad.status_code == 400 and outcome_codes(bad) == ["not-supported"]
    assert api.get("/$export", params={"_type": "Measure"}, headers={"Prefer": "respond-async"}).status_code == 400
    kickoff = api.get("/$export", headers={"Prefer": "respond-async"})
    status_url = kickoff.headers["content-location"]
    with client(server, PUBLIC) as other:
        assert other.get(status_url).status_code == 404  # another client's job
    assert api.delete(status_url).status_code == 202
    assert api.get(status_url).status_code == 404


# -- the serve command ----------------------------------------------------------------------------


def test_list_faults_prints_one_line_per_fault():
    out = subprocess.run([sys.executable, "-m", "harness.cli", "serve", "--list-faults"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert len(out) == len(FAULTS) + 1 >= 26  # the named faults, then the ignore-param:<code> family
    assert all(line.split()[0] in FAULTS for line in out[:-1]) and out[-1].startswith("ignore-param:<code>")


def test_serve_starts_on_loopback_and_prints_its_urls(seed_db, tmp_path):
    db = tmp_path / "served.db"
    db.write_bytes(Path(seed_db).read_bytes())
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", "--port", "0", "--db", str(db)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        assert line.startswith("ror-harness reference server: http://127.0.0.1:")
        base = line.split(": ", 1)[1].strip()
        assert f"{base}/token" in process.stdout.readline()
        assert httpx.get(f"{base}/metadata").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_rejects_unknown_faults():
    done = subprocess.run([sys.executable, "-m", "harness.cli", "serve", "--fault", "no-such-fault"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no-such-fault" in done.stderr
