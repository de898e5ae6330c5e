"""A small ROR consumer, written to be read: it gets a token (OAuth2 client credentials), sends
the four Ror-* headers, follows every next link, backs off on 429/503 as Retry-After says, stops
on a cyclic next link, tolerates what it does not know, and reports OperationOutcome errors.

Driven by `ror-harness run --role consumer --consumer-cmd "python examples/consumer/ror_consumer.py"`:
its task and parameters come from the environment (docs/consumer-mode.md). `--fault NAME`
(repeatable) or EXAMPLE_CONSUMER_FAULTS=a,b switches a deliberate mistake on, to show that the
consumer scenarios catch it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

INCLUDES = [("_include", "HealthcareService:organization"), ("_include:iterate", "Organization:partof"),
            ("_include", "HealthcareService:location"), ("_revinclude", "PractitionerRole:service"),
            ("_include", "PractitionerRole:practitioner")]
CAPACITY_URL = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity"
FAULTS = {
    "no-paging": "reads the first page only",
    "no-includes": "extracts without the IG's include set",
    "no-lastupdated": "incremental update without _lastUpdated (reads everything again)",
    "refresh-by-name": "refreshes an organisation by its name instead of its national identifier",
    "token-without-system": "searches a code without its system",
    "no-ror-headers": "omits the four Ror-* headers",
    "ror-headers-on-patch": "sends the Ror-* headers on the capacity PATCH",
    "no-add-followup": "gives up when the capacity replace answers 404",
    "invalid-task": "creates a Task without its required elements",
    "ignore-retry-after": "retries at once on 429/503",
    "no-cycle-guard": "follows next links without remembering the pages read",
    "strict-extensions": "refuses resources that carry an unknown extension",
    "strict-codes": "refuses codes it does not know",
    "ignore-errors": "treats an OperationOutcome error as the end of the data",
    "short-timeout": "waits at most half a second for an answer",
}
KNOWN_CHARACTERISTIC_SYSTEMS = ("TRE_R338", "TRE_R213", "TRE_R210", "TRE_R209", "TRE_R276", "TRE_R211")


class RorError(Exception):
    pass


class Consumer:
    def __init__(self, env: dict, faults: set[str]) -> None:
        self.env, self.faults = env, faults
        self.base = env["ROR_BASE_URL"].rstrip("/")
        timeout = 0.5 if "short-timeout" in faults else 30.0
        self.http = httpx.Client(timeout=timeout, verify=env.get("ROR_CA_BUNDLE") or True)
        self.token = None

    def headers(self, ror: bool = True) -> dict:
        if self.token is None:
            answer = self.http.post(self.env["ROR_TOKEN_URL"], data={"grant_type": "client_credentials"},
                                    auth=(self.env["ROR_CLIENT_ID"], self.env["ROR_CLIENT_SECRET"]))
            answer.raise_for_status()
            self.token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/fhir+json"}
        if ror and "no-ror-headers" not in self.faults:
            headers.update({"Ror-Profil-Utilisateur-Code": self.env["ROR_PROFIL_UTILISATEUR_CODE"],
                            "Ror-Profil-Utilisateur-System": self.env["ROR_PROFIL_UTILISATEUR_SYSTEM"],
                            "Ror-Role-Metier-Code": self.env["ROR_ROLE_METIER_CODE"],
                            "Ror-Role-Metier-System": self.env["ROR_ROLE_METIER_SYSTEM"]})
        return headers

    def call(self, method: str, url: str, *, ror: bool = True, **kwargs) -> httpx.Response:
        extra = kwargs.pop("headers", {})
        for _ in range(5):
            answer = self.http.request(method, url, headers={**self.headers(ror), **extra}, **kwargs)
            if answer.status_code not in (429, 503):
                return answer
            wait = answer.headers.get("Retry-After", "1")
            if "ignore-retry-after" not in self.faults:
                time.sleep(int(wait) if wait.isdigit() else 1)
        return answer

    def check(self, answer: httpx.Response) -> dict:
        body = answer.json() if answer.content else {}
        if answer.status_code >= 400:
            issues = [i.get("diagnostics", i.get("code", "")) for i in body.get("issue", [])] if isinstance(body, dict) else []
            raise RorError(f"HTTP {answer.status_code}: {'; '.join(issues)}")
        return body

    def accept(self, resource: dict) -> None:
        if "strict-extensions" in self.faults:
            for ext in resource.get("extension", []):
                if "ror-harness.example" in ext.get("url", ""):
                    raise RorError(f"unknown extension {ext['url']}")
        if "strict-codes" in self.faults:
            for concept in resource.get("characteristic", []):
                for coding in concept.get("coding", []):
                    if not coding.get("code", "").isdigit():
                        raise RorError(f"unknown code {coding.get('code')}")

    def search(self, resource_type: str, params: list[tuple[str, str]]) -> list[dict]:
        """Every page of a search, each page read once."""
        url, seen, found = f"{self.base}/{resource_type}", set(), []
        answer = self.call("GET", url, params=params)
        while True:
            if "ignore-errors" in self.faults and answer.status_code >= 400:
                return found
            bundle = self.check(answer)
            seen.add(str(answer.url))
            seen.update(link["url"] for link in bundle.get("link", []) if link["relation"] == "self")
            for entry in bundle.get("entry", []):
                self.accept(entry["resource"])
                found.append(entry["resource"])
            nxt = next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)
            if nxt is None or "no-paging" in self.faults:
                return found
            if nxt in seen and "no-cycle-guard" not in self.faults:
                print(f"cyclic next link ignored: {nxt}", file=sys.stderr)
                return found
            answer = self.call("GET", nxt)

    # -- tasks --------------------------------------------------------------------------------------
    def extract(self, p: dict) -> int:
        params = [] if "no-includes" in self.faults else list(INCLUDES)
        return len(self.search(p.get("resource", "HealthcareService"), params))

    def incremental(self, p: dict) -> int:
        params = [] if "no-lastupdated" in self.faults else [("_lastUpdated", f"ge{p['since']}")]
        return len(self.search("HealthcareService", params + list(INCLUDES)))

    def refresh_organization(self, p: dict) -> int:
        param = ("name", p["name"]) if "refresh-by-name" in self.faults else ("identifier", p["identifier"])
        return len(self.search("Organization", [param]))

    def search_specialty(self, p: dict) -> int:
        token = p["specialty"].split("|")[-1] if "token-without-system" in self.faults else p["specialty"]
        return len(self.search("HealthcareService", [("specialty", token), *INCLUDES]))

    def capacity(self, p: dict) -> int:
        capacity = {"url": CAPACITY_URL, "extension": [
            {"url": "nbCapacity", "valueInteger": int(p.get("count", 2))},
            {"url": "capacityUpdateDate", "valueDateTime": "2025-02-26T15:17:33Z"},
            {"url": "capacityStatus", "valueCodeableConcept": {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R330-TypeStatutCapacite/FHIR/TRE-R330-TypeStatutCapacite", "code": "02"}]}},
            {"url": "capacityType", "valueCodeableConcept": {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R329-NatureCapacite/FHIR/TRE-R329-NatureCapacite", "code": "02"}]}},
            {"url": "temporalityCapacity", "valueCodeableConcept": {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R331-TemporaliteCapacite/FHIR/TRE-R331-TemporaliteCapacite", "code": "01"}]}},
            {"url": "genderCapacityAvailable", "valueCodeableConcept": {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R332-GenreCapacite/FHIR/TRE-R332-GenreCapacite", "code": "03"}]}}]}
        where = (f"Location.extension.where(url='{CAPACITY_URL}').where(extension.where(url = 'capacityStatus' and "
                 "valueCodeableConcept.coding.code = '02') and extension.where(url = 'genderCapacityAvailable' and "
                 "valueCodeableConcept.coding.code = '03'))")
        url = f"{self.base}/Location"
        ror = "ror-headers-on-patch" in self.faults
        headers = {"Content-Type": "application/fhir+json"}

        def patch(kind: str, path: str) -> httpx.Response:
            part = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
            part += [{"name": "name", "valueString": "extension"}] if kind == "add" else []
            part += [{"name": "value", "valueExtension": capacity}]
            body = {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": part}]}
            return self.call("PATCH", url, params={"identifier": p["identifier"]}, json=body, ror=ror, headers=headers)

        answer = patch("replace", where)
        if answer.status_code == 404 and "no-add-followup" not in self.faults:
            answer = patch("add", "Location")
        self.check(answer)
        return 1

    def create_task(self, p: dict) -> int:
        task = {"resourceType": "Task", "status": "requested", "intent": "proposal",
                "code": {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R350-TypeAnomalie/FHIR/TRE-R350-TypeAnomalie", "code": "01"}]},
                "businessStatus": {"coding": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_R352-StatutMetierAnomalie/FHIR/TRE-R352-StatutMetierAnomalie", "code": "01"}]},
                "focus": {"reference": p["focus"]}, "authoredOn": "2026-01-05T10:00:00+01:00",
                "description": "Téléphone du secrétariat erroné"}
        if "invalid-task" in self.faults:
            task = {"resourceType": "Task", "description": task["description"]}
        self.check(self.call("POST", f"{self.base}/Task", json=task, headers={"Content-Type": "application/fhir+json"}))
        return 1


TASKS = {"extract": Consumer.extract, "incremental": Consumer.incremental, "refresh-organization": Consumer.refresh_organization,
         "search": Consumer.search_specialty, "capacity": Consumer.capacity, "create-task": Consumer.create_task}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    args = parser.parse_args(argv)
    faults = set(args.fault) | {f for f in os.environ.get("EXAMPLE_CONSUMER_FAULTS", "").split(",") if f}
    env = dict(os.environ)
    params = {k[len("ROR_PARAM_"):].lower(): v for k, v in env.items() if k.startswith("ROR_PARAM_")}
    try:
        count = TASKS[env["ROR_TASK"]](Consumer(env, faults), params)
    except (RorError, httpx.HTTPError, KeyError) as exc:
        print(f"ror-consumer: {env.get('ROR_TASK')}: error: {exc}", file=sys.stderr)
        return 1
    print(f"ror-consumer: {env['ROR_TASK']}: {count} resource(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
