"""A ROR consumer written with SMART on FHIR's Python client, `fhirclient` (PyPI, pinned in
constraints.txt), to see what a real third-party client does against the consumer scenarios.

    ror-harness run --role consumer --consumer-cmd "tools/peers/fhirclient/.venv/bin/python tools/peers/fhirclient/consumer.py"

(tools/peers/run_consumer_peer.py does that, after installing the pinned venv.) The task and its
parameters come from the environment the harness sets (docs: harness/mock/run.py).

Rule of this file: every request goes through fhirclient's own API (FHIRClient, its OAuth2 auth
object, `Resource.where(struct)` / FHIRSearch with `include()` and `perform_iter()` for paging,
the model classes, `Resource.create()`), used as its docstrings say, with no workaround for what
it gets wrong. What fhirclient has no API for is added here, each place marked "ADAPTER", with the
minimum of `requests` (fhirclient's own HTTP library, through the `requests.Session` fhirclient
keeps in `server.session`):
  - the OAuth2 client configuration: fhirclient discovers a token endpoint only from SMART's
    `oauth-uris` extension in /metadata (and then wants an `authorize` endpoint or a JWT
    assertion); the ROR gives its token URL out of band, so the adapter hands it to fhirclient's
    OAuth2 auth object as saved state, and asks for a backend scope instead of fhirclient's default
    SMART user-launch scopes (which the ROR's token endpoint refuses: invalid_scope);
  - the four Ror-* headers: fhirclient's search and read calls take no extra headers, so they are
    set on its session (every request then carries them);
  - the client certificate (mutual TLS): set on its session (`session.cert`);
  - error reporting: on an HTTP error fhirclient raises requests' HTTPError (or its own
    FHIR*Exception) carrying the response; the adapter prints the OperationOutcome's diagnostics,
    read with fhirclient's OperationOutcome model, and exits 1.
Tasks fhirclient has no interaction for (`capacity`: a FHIR PATCH; fhirclient has none) exit 3
with "task not supported by this adapter".
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sys

from fhirclient import client as fhir_client
from fhirclient.models.healthcareservice import HealthcareService
from fhirclient.models.location import Location
from fhirclient.models.operationoutcome import OperationOutcome
from fhirclient.models.organization import Organization
from fhirclient.models.practitionerrole import PractitionerRole
from fhirclient.models.task import Task

EXIT_ERROR, EXIT_UNSUPPORTED = 1, 3
RESOURCES = {"HealthcareService": HealthcareService, "Organization": Organization, "Location": Location}
#: ADAPTER: the scope asked for (SMART backend-services scopes; fhirclient's default is
#: "launch/patient user/*.* patient/*.read openid profile", for an app launched by a user).
SCOPE = "system/*.read system/*.write"


class Unsupported(Exception):
    pass


def connect(env: dict) -> fhir_client.FHIRClient:
    """A fhirclient FHIRClient holding an OAuth2 token got with client credentials."""
    base = env["ROR_BASE_URL"].rstrip("/") + "/"
    # ADAPTER: fhirclient's OAuth2 auth (FHIROAuth2Auth) configured from state, because the ROR
    # does not advertise its token endpoint the SMART way (see the module docstring).
    state = {"app_id": env["ROR_CLIENT_ID"], "app_secret": env["ROR_CLIENT_SECRET"], "scope": SCOPE,
             "server": {"base_uri": base, "auth_type": "oauth2",
                        "auth": {"app_id": env["ROR_CLIENT_ID"], "app_secret": env["ROR_CLIENT_SECRET"],
                                 "token_uri": env["ROR_TOKEN_URL"], "aud": base}}}
    smart = fhir_client.FHIRClient(state=state)
    smart.wants_patient = False  # a backend client: no "launch/patient" scope
    session = smart.server.session
    # ADAPTER: the four Ror-* headers on every request (fhirclient's search API takes no headers).
    session.headers.update({"Ror-Profil-Utilisateur-Code": env["ROR_PROFIL_UTILISATEUR_CODE"],
                            "Ror-Profil-Utilisateur-System": env["ROR_PROFIL_UTILISATEUR_SYSTEM"],
                            "Ror-Role-Metier-Code": env["ROR_ROLE_METIER_CODE"],
                            "Ror-Role-Metier-System": env["ROR_ROLE_METIER_SYSTEM"]})
    # ADAPTER: the client certificate for mutual TLS (fhirclient has no setting for it). The CA
    # needs nothing: requests reads REQUESTS_CA_BUNDLE, which the harness sets.
    if env.get("ROR_CLIENT_CERT") and env.get("ROR_CLIENT_KEY"):
        session.cert = (env["ROR_CLIENT_CERT"], env["ROR_CLIENT_KEY"])
    smart.authorize()  # fhirclient: POST token_uri, grant_type=client_credentials, HTTP Basic
    return smart


def ig_includes(search):
    """The IG's include set (§1.5) for a HealthcareService search, said through FHIRSearch.include()
    as its docstring describes it (`reference_field`: "the name of the search parameter";
    `reference_model` + `reverse=True` for a reverse include)."""
    search.include("organization")  # _include=HealthcareService:organization
    search.include("location")  # _include=HealthcareService:location
    search.include("service", PractitionerRole, reverse=True)  # _revinclude=PractitionerRole:service
    # _include=PractitionerRole:practitioner: not expressible; include("practitioner", PractitionerRole)
    # would be turned into _revinclude=PractitionerRole:practitioner ("Only reverse includes can
    # have a different reference model"), a different and meaningless request: not called.
    # _include:iterate=Organization:partof: "Recursive or iterative includes are not supported"
    # (FHIRSearch.include docstring): nothing to call.
    return search


def read_all(smart, search) -> int:
    """Every page: fhirclient's perform_resources_iter() follows the Bundle's next links."""
    return sum(1 for _ in search.perform_resources_iter(smart.server))


def since(p: dict) -> dict:
    """_lastUpdated from the given instant, inclusive: fhirclient's operator for >= is `$gte`."""
    return {"_lastUpdated": {"$gte": p["since"]}} if p.get("since") else {}


# -- tasks (the scenarios' consumer.task) --------------------------------------------------------------
def extract(smart, p: dict) -> int:
    model = RESOURCES[p.get("resource", "HealthcareService")]
    search = model.where({})
    return read_all(smart, ig_includes(search) if model is HealthcareService else search)


def incremental(smart, p: dict) -> int:
    return read_all(smart, ig_includes(HealthcareService.where(since(p))))


def refresh_organization(smart, p: dict) -> int:
    return read_all(smart, Organization.where({"identifier": p["identifier"]}))


def search_specialty(smart, p: dict) -> int:
    return read_all(smart, ig_includes(HealthcareService.where({"specialty": p["specialty"]})))


def search_near(smart, p: dict) -> int:
    # fhirclient chains with a nested dict: {"location": {"near-insee-code": ...}} -> location.near-insee-code=
    struct = {"specialty": p["specialty"], "location": {"near-insee-code": f"{p['commune']}|{p['distance']}|km"}}
    return read_all(smart, ig_includes(HealthcareService.where(struct)))


def search_department(smart, p: dict) -> int:
    return read_all(smart, ig_includes(HealthcareService.where({"location": {"address-postalcode": p["department"]}})))


def search_capacity(smart, p: dict) -> int:
    struct = {"specialty": p["specialty"],
              "location": {"capacity-type": p["capacity_type"], "gender-capacity-available": p["gender"],
                           "temporality-capacity": p["temporality"], "capacity-status": p["status"],
                           "nb-capacity": {"$gt": "0"}}}
    return read_all(smart, HealthcareService.where(struct).include("location"))


def search_age(smart, p: dict) -> int:
    unit = f"|{p['unit']}" if p.get("unit") else ""
    struct = {"age-range-low": {"$lte": f"{p['age']}{unit}"}, "age-range-high": {"$gte": f"{p['age']}{unit}"}}
    return read_all(smart, ig_includes(HealthcareService.where(struct)))


def capacities(smart, p: dict) -> int:
    """Locations with the HealthcareServices pointing at them: all, since an instant, or identified
    ones (`identifiers`, comma-separated: fhirclient's `$or` joins them with a comma)."""
    struct = since(p)
    ids = [i for i in p.get("identifiers", "").split(",") if i]
    if ids:
        struct["identifier"] = {"$or": ids}
    return read_all(smart, Location.where(struct).include("location", HealthcareService, reverse=True))


def create_task(smart, p: dict) -> int:
    """An anomaly report: a RORTask built with fhirclient's Task model, sent by Task.create()."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def coded(table: str, code: str) -> dict:
        return {"coding": [{"system": f"https://mos.esante.gouv.fr/NOS/{table}/FHIR/{table.replace('_', '-', 1)}",
                            "code": code}]}

    task = Task({"resourceType": "Task", "status": "in-progress", "intent": "order",
                 "businessStatus": coded("TRE_R352-StatutMetierAnomalie", "02"),
                 "code": coded("TRE_R350-ThematiqueAnomalie", "06"), "reasonCode": coded("TRE_R349-ActionAnomalie", "COR"),
                 "description": p.get("description", "Téléphone du secrétariat erroné"),
                 "focus": {"reference": p["focus"]}, "authoredOn": now, "lastModified": now,
                 "input": [{"type": {"coding": [{"system": "https://interop.esante.gouv.fr/ig/fhir/ror/CodeSystem/input-task-ror-codesystem",
                                                 "code": "systemRequester"}]}, "valueString": "fhirclient-consumer"}]})
    task.create(smart.server)
    return 1


def capacity(smart, p: dict) -> int:
    raise Unsupported("capacity PATCH: fhirclient has no PATCH interaction (FHIRServer offers GET, PUT, POST, DELETE)")


TASKS = {"extract": extract, "incremental": incremental, "refresh-organization": refresh_organization,
         "search": search_specialty, "search-near": search_near, "search-department": search_department,
         "search-capacity": search_capacity, "search-age": search_age, "capacities": capacities,
         "create-task": create_task, "capacity": capacity}


def diagnostics(exc: Exception) -> str:
    """ADAPTER: what the ROR said, from the OperationOutcome in the error's response (fhirclient's
    exceptions carry the response but do not read it)."""
    response = getattr(exc, "response", None)
    if response is None:
        return ""
    try:
        outcome = OperationOutcome(response.json(), strict=False)
    except ValueError:
        return ""
    return "; ".join(f"{i.code}: {i.diagnostics}" for i in outcome.issue or [])


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="fhirclient-consumer: %(name)s: %(message)s")
    env = dict(os.environ)
    task = env.get("ROR_TASK", "")
    params = {k[len("ROR_PARAM_"):].lower(): v for k, v in env.items() if k.startswith("ROR_PARAM_")}
    if task not in TASKS:
        print(f"fhirclient-consumer: {task}: task not supported by this adapter", file=sys.stderr)
        return EXIT_UNSUPPORTED
    try:
        count = TASKS[task](connect(env), params)
    except Unsupported as exc:
        print(f"fhirclient-consumer: {task}: task not supported by this adapter ({exc})", file=sys.stderr)
        return EXIT_UNSUPPORTED
    except Exception as exc:  # noqa: BLE001 - whatever fhirclient raised, reported as it is
        said = diagnostics(exc)
        print(f"fhirclient-consumer: {task}: error: {type(exc).__name__}: {exc}" + (f" [{said}]" if said else ""),
              file=sys.stderr)
        return EXIT_ERROR
    print(f"fhirclient-consumer: {task}: {count} resource(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
