"""A small ROR consumer, written to be read: it gets a token (OAuth2 client credentials, over
mutual TLS when given a client certificate), sends the four Ror-* headers, follows every next
link, backs off on 429/503 as Retry-After says, renews its token once on a 401, stops on a cyclic
next link, tolerates what it does not know, and reports OperationOutcome errors.

Driven by `ror-harness run --role consumer --consumer-cmd "python examples/consumer/ror_consumer.py"`:
its task and parameters come from the environment (docs/consumer-mode.md). `--fault NAME`
(repeatable) or EXAMPLE_CONSUMER_FAULTS=a,b switches a deliberate mistake on, to show that the
consumer scenarios catch it.
"""
from __future__ import annotations

import argparse
import os
import ssl
import sys
import time

import httpx

INCLUDES = [("_include", "HealthcareService:organization"), ("_include:iterate", "Organization:partof"),
            ("_include", "HealthcareService:location"), ("_revinclude", "PractitionerRole:service"),
            ("_include", "PractitionerRole:practitioner")]
CAPACITY_URL = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity"
NOS = "https://mos.esante.gouv.fr/NOS/{0}/FHIR/{1}"
FAULTS = {
    "no-paging": "reads the first page only",
    "no-includes": "extracts without the IG's include set",
    "no-lastupdated": "incremental update without _lastUpdated (reads everything again)",
    "lastupdated-gt": "incremental update with _lastUpdated=gt (misses what changed at the given instant)",
    "refresh-by-name": "refreshes an organisation by its name instead of its national identifier",
    "token-without-system": "searches a code without its system",
    "near-missing-unit": "gives the proximity radius in metres without its unit (the ROR reads km)",
    "postalcode-unchained": "searches a department with address-postalcode on HealthcareService, not chained on location",
    "age-prefix-swapped": "searches an age with ge on the low bound and le on the high bound",
    "capacity-without-revinclude": "reads capacities without the HealthcareServices that point at the Locations",
    "one-request-per-id": "reads several identified Locations one request each instead of one identifier=a,b",
    "no-ror-headers": "omits the four Ror-* headers",
    "token-per-request": "fetches a new token before every request",
    "no-token-renewal": "gives up on a 401 instead of fetching a new token once",
    "no-client-cert": "does not present its client certificate (mutual TLS)",
    "ror-headers-on-patch": "sends the Ror-* headers on the capacity PATCH",
    "patch-partial-resource": "sends a partial Location (merge-patch style) as the capacity PATCH body, not a FHIR Parameters",
    "no-add-followup": "gives up when the capacity replace answers 404",
    "invalid-task": "creates a Task without its required elements",
    "patch-task-status": "closes an anomaly by patching Task.status instead of its business status (TRE_R352)",
    "ignore-retry-after": "retries at once on 429/503",
    "no-cycle-guard": "follows next links without remembering the pages read",
    "strict-extensions": "refuses resources that carry an unknown extension",
    "strict-codes": "refuses codes it does not know",
    "ignore-errors": "treats an OperationOutcome error as the end of the data",
    "short-timeout": "waits at most half a second for an answer",
}


class RorError(Exception):
    pass


def coded(table: str, code: str) -> dict:
    """A CodeableConcept of a NOS table, e.g. coded('TRE_R330-TypeStatutCapacite', '02')."""
    return {"coding": [{"system": NOS.format(table, table.replace("_", "-", 1)), "code": code}]}


class Consumer:
    def __init__(self, env: dict, faults: set[str]) -> None:
        self.env, self.faults = env, faults
        self.base = env["ROR_BASE_URL"].rstrip("/")
        timeout = 0.5 if "short-timeout" in faults else 30.0
        self.http = httpx.Client(timeout=timeout, verify=self.tls(env, faults))
        self.token = None

    @staticmethod
    def tls(env: dict, faults: set[str]) -> ssl.SSLContext:
        """Trust ROR_CA_BUNDLE (else the system's CAs); present ROR_CLIENT_CERT / ROR_CLIENT_KEY when given (mTLS)."""
        context = ssl.create_default_context(cafile=env.get("ROR_CA_BUNDLE") or None)
        if env.get("ROR_CLIENT_CERT") and env.get("ROR_CLIENT_KEY") and "no-client-cert" not in faults:
            context.load_cert_chain(env["ROR_CLIENT_CERT"], env["ROR_CLIENT_KEY"])
        return context

    def headers(self, ror: bool = True) -> dict:
        if self.token is None or "token-per-request" in self.faults:
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
        """One request: waits as Retry-After says on 429/503, renews the token once on a 401."""
        extra = kwargs.pop("headers", {})
        renewed = "no-token-renewal" in self.faults
        for _ in range(5):
            answer = self.http.request(method, url, headers={**self.headers(ror), **extra}, **kwargs)
            if answer.status_code == 401 and not renewed:
                self.token, renewed = None, True
                continue
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

    # -- shared bits of the tasks -------------------------------------------------------------------
    def since(self, p: dict) -> list[tuple[str, str]]:
        """_lastUpdated from the instant of the last update read (ge: what changed at that instant too)."""
        if "since" not in p or "no-lastupdated" in self.faults:
            return []
        return [("_lastUpdated", f"{'gt' if 'lastupdated-gt' in self.faults else 'ge'}{p['since']}")]

    def token_of(self, value: str) -> str:
        """A token search value: system|code (the code alone under the token-without-system fault)."""
        return value.split("|")[-1] if "token-without-system" in self.faults else value

    def found(self, resource_type: str, criteria: list[tuple[str, str]], includes=INCLUDES) -> int:
        return len(self.search(resource_type, [*criteria, *includes]))

    # -- tasks --------------------------------------------------------------------------------------
    def extract(self, p: dict) -> int:
        return self.found(p.get("resource", "HealthcareService"), [], [] if "no-includes" in self.faults else INCLUDES)

    def incremental(self, p: dict) -> int:
        return self.found("HealthcareService", self.since(p))

    def refresh_organization(self, p: dict) -> int:
        param = ("name", p["name"]) if "refresh-by-name" in self.faults else ("identifier", p["identifier"])
        return self.found("Organization", [param], [])

    def capacities(self, p: dict) -> int:
        """Capacity data (ST1): Locations and the HealthcareServices pointing at them; all, since an
        instant (`since`) or of identified Locations (`identifiers`, comma-separated: one request)."""
        revinclude = [] if "capacity-without-revinclude" in self.faults else [("_revinclude", "HealthcareService:location")]
        ids = [i for i in p.get("identifiers", "").split(",") if i]
        groups = [[i] for i in ids] if ids and "one-request-per-id" in self.faults else [ids]
        return sum(self.found("Location", self.since(p) + ([("identifier", ",".join(g))] if g else []), revinclude)
                   for g in groups)

    def search_specialty(self, p: dict) -> int:
        return self.found("HealthcareService", [("specialty", self.token_of(p["specialty"]))])

    def search_near(self, p: dict) -> int:
        near = f"{p['commune']}|{int(p['distance']) * 1000}" if "near-missing-unit" in self.faults \
            else f"{p['commune']}|{p['distance']}|km"
        return self.found("HealthcareService", [("specialty", self.token_of(p["specialty"])), ("location.near-insee-code", near)])

    def search_department(self, p: dict) -> int:
        name = "address-postalcode" if "postalcode-unchained" in self.faults else "location.address-postalcode"
        return self.found("HealthcareService", [(name, p["department"])])

    def search_capacity(self, p: dict) -> int:
        criteria = [("specialty", p["specialty"]), ("location.capacity-type", p["capacity_type"]),
                    ("location.gender-capacity-available", p["gender"]), ("location.temporality-capacity", p["temporality"]),
                    ("location.capacity-status", p["status"])]
        return self.found("HealthcareService", [(k, self.token_of(v)) for k, v in criteria] + [("location.nb-capacity", "gt0")],
                          [("_include", "HealthcareService:location")])

    def search_age(self, p: dict) -> int:
        low, high = ("ge", "le") if "age-prefix-swapped" in self.faults else ("le", "ge")
        unit = f"|{p['unit']}" if p.get("unit") else ""
        return self.found("HealthcareService", [("age-range-low", f"{low}{p['age']}{unit}"),
                                                ("age-range-high", f"{high}{p['age']}{unit}")])

    def capacity(self, p: dict) -> int:
        """Capacity PATCH (ST10-S2bis): replace the indicator the path selects; on 404 (no such
        indicator yet) add it (ST10-S2). Only Authorization and Content-Type: no Ror-* headers."""
        values = {"capacityStatus": coded("TRE_R330-TypeStatutCapacite", p.get("status", "02")),
                  "capacityType": coded("TRE_R329-NatureCapacite", p.get("capacity_type", "02")),
                  "temporalityCapacity": coded("TRE_R331-TemporaliteCapacite", "01"),
                  "capacitySourceType": coded("TRE_R335-TypeSourceCapacite", "02"),
                  "genderCapacityAvailable": coded("TRE_R332-GenreCapacite", p.get("gender", "03")),
                  "temporaryAssignement": coded("TRE_R337-AffectationTemporaire", "01")}
        capacity = {"url": CAPACITY_URL, "extension": [
            {"url": "nbCapacity", "valueInteger": int(p.get("count", 2))},
            {"url": "capacityUpdateDate", "valueDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            *({"url": name, "valueCodeableConcept": value} for name, value in values.items())]}
        keys = ("capacityStatus", "temporalityCapacity", "genderCapacityAvailable", "temporaryAssignement")
        where = f"Location.extension.where(url='{CAPACITY_URL}').where(" + " and ".join(
            f"extension.where(url = '{k}' and valueCodeableConcept.coding.code = '{values[k]['coding'][0]['code']}')"
            for k in keys) + ")"

        def patch(kind: str, path: str) -> httpx.Response:
            part = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
            part += [{"name": "name", "valueString": "extension"}] if kind == "add" else []
            part += [{"name": "value", "valueExtension": capacity}]
            body = {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": part}]}
            if "patch-partial-resource" in self.faults:
                body = {"resourceType": "Location", "extension": [capacity]}
            return self.call("PATCH", f"{self.base}/Location", params={"identifier": p["identifier"]}, json=body,
                             ror="ror-headers-on-patch" in self.faults, headers={"Content-Type": "application/fhir+json"})

        answer = patch("replace", where)
        if answer.status_code == 404 and "no-add-followup" not in self.faults:
            answer = patch("add", "Location")
        self.check(answer)
        return 1

    def create_task(self, p: dict) -> int:
        """Report an anomaly (ST5-S1): a Task valid against the RORTask profile (as the IG's ror-task-exemple)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        task = {"resourceType": "Task", "status": "in-progress", "intent": "order",
                "businessStatus": coded("TRE_R352-StatutMetierAnomalie", "02"),
                "code": coded("TRE_R350-ThematiqueAnomalie", "06"), "reasonCode": coded("TRE_R349-ActionAnomalie", "COR"),
                "description": p.get("description", "Téléphone du secrétariat erroné"),
                "focus": {"reference": p["focus"]}, "authoredOn": now, "lastModified": now,
                "input": [{"type": {"coding": [{"system": "https://interop.esante.gouv.fr/ig/fhir/ror/CodeSystem/input-task-ror-codesystem",
                                                "code": "systemRequester"}]}, "valueString": "ror-consumer"}]}
        if "invalid-task" in self.faults:
            task = {"resourceType": "Task", "description": task["description"]}
        self.check(self.call("POST", f"{self.base}/Task", json=task, headers={"Content-Type": "application/fhir+json"}))
        return 1

    def follow_anomaly(self, p: dict) -> int:
        """Anomaly follow-up: every anomaly (ST7-S4), one anomaly's status (ST7-S1), then its business
        status set by FHIRPath Patch (ST6-S1)."""
        count = len(self.search("Task", []))
        task = self.check(self.call("GET", f"{self.base}/Task/{p['task']}"))
        path = "Task.status" if "patch-task-status" in self.faults else "Task.businessStatus"
        value = {"valueCode": "completed"} if "patch-task-status" in self.faults \
            else {"valueCodeableConcept": coded("TRE_R352-StatutMetierAnomalie", p["business_status"])}
        body = {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
            {"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": path}, {"name": "value", **value}]}]}
        self.check(self.call("PATCH", f"{self.base}/Task/{task['id']}", json=body, headers={"Content-Type": "application/fhir+json"}))
        return count


TASKS = {"extract": Consumer.extract, "incremental": Consumer.incremental, "refresh-organization": Consumer.refresh_organization,
         "capacities": Consumer.capacities, "search": Consumer.search_specialty, "search-near": Consumer.search_near,
         "search-department": Consumer.search_department, "search-capacity": Consumer.search_capacity,
         "search-age": Consumer.search_age, "capacity": Consumer.capacity, "create-task": Consumer.create_task,
         "follow-anomaly": Consumer.follow_anomaly}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    parser.add_argument("--list-faults", action="store_true", help="print the fault names and what each does")
    args = parser.parse_args(argv)
    if args.list_faults:
        print("\n".join(f"{name}  {what}" for name, what in FAULTS.items()))
        return 0
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
